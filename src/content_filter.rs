//! The comment filter that runs before anything is stored or shown: blocked
//! terms (built in plus `MODERATION_BLOCKED_TERMS`), caught through the usual
//! evasions, and link spam. Repeated messages need the user's history and are
//! checked against Postgres by the comment path, with [`repeat_key`] as the
//! key.
//!
//! Evasions caught: case (`SCUM`), spacing and punctuation inside a word
//! (`s c-u.m`), repeated letters (`scuuuum`), and the common letter-for-digit
//! or symbol swaps (`5cum`, `$cum`, `1d10t`). The swap table stays small on
//! purpose so ordinary words are not mangled. Terms under five letters must
//! stand as a word of their own (a spaced-out run of single letters counts
//! as one word), so they do not match across innocent neighbours.

/// Terms refused out of the box (slurs and abuse are the operator's list to
/// extend; these cover the obvious cases and give the tests a known list).
const BUILT_IN: &[&str] = &["scum", "idiot", "moron", "retard", "kys", "killyourself"];

/// More links than this in one comment is link spam.
pub const MAX_LINKS: usize = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// Why it was caught, for the author and the moderation queue.
    Caught(String),
}

#[derive(Debug, Clone)]
pub struct ContentFilter {
    /// Normalized blocked terms.
    terms: Vec<String>,
}

impl ContentFilter {
    /// The built-in list plus `extra` (comma-separated terms from the config).
    pub fn new(extra: &[String]) -> ContentFilter {
        let mut terms: Vec<String> = BUILT_IN
            .iter()
            .map(|t| t.to_string())
            .chain(extra.iter().cloned())
            .map(|t| normalize(&t))
            .filter(|t| !t.is_empty())
            .collect();
        terms.sort();
        terms.dedup();
        ContentFilter { terms }
    }

    pub fn check(&self, content: &str) -> Verdict {
        let links = count_links(content);
        if links > MAX_LINKS {
            return Verdict::Caught(format!("link spam ({links} links)"));
        }
        let squeezed = normalize(content);
        // Every term is judged: a short term found only inside other words
        // ("kys" in "sky spun") must not end the check before the others.
        let mut words_of_content: Option<Vec<String>> = None;
        for term in self.terms.iter().filter(|t| squeezed.contains(t.as_str())) {
            let words = words_of_content.get_or_insert_with(|| words(content));
            if term.chars().count() >= 5 || words.iter().any(|w| w == term) {
                return Verdict::Caught("blocked term".into());
            }
        }
        Verdict::Clean
    }
}

/// Lower case, digits and symbols swapped back to the letters they stand
/// for, everything but letters dropped, runs of one letter squeezed to one.
pub fn normalize(text: &str) -> String {
    squeeze(text.chars().filter_map(unswap))
}

/// What makes two messages "the same" for spam: case, spacing,
/// punctuation and stretched letters do not count; digits do.
pub fn repeat_key(text: &str) -> String {
    let mut out = String::new();
    for c in text
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
    {
        if !(c.is_alphabetic() && out.ends_with(c)) {
            out.push(c);
        }
    }
    out
}

fn squeeze(chars: impl Iterator<Item = char>) -> String {
    let mut out = String::new();
    for c in chars {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

fn unswap(c: char) -> Option<char> {
    let c = c.to_lowercase().next().unwrap_or(c);
    Some(match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' | '+' => 't',
        '8' => 'b',
        c if c.is_alphabetic() => c,
        _ => return None,
    })
}

/// The words of `text`, normalized; a run of one-letter pieces
/// (`s c u m`, `s.c-u_m`) is one word.
fn words(text: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    for c in text.chars() {
        match unswap(c) {
            Some(letter) => pieces.last_mut().into_iter().for_each(|p| p.push(letter)),
            None => pieces.push(String::new()),
        }
    }
    let mut words = Vec::new();
    let mut run = String::new();
    for piece in pieces.into_iter().filter(|p| !p.is_empty()) {
        if piece.chars().count() == 1 {
            run.push_str(&piece);
        } else {
            if !run.is_empty() {
                words.push(squeeze(std::mem::take(&mut run).chars()));
            }
            words.push(squeeze(piece.chars()));
        }
    }
    if !run.is_empty() {
        words.push(squeeze(run.chars()));
    }
    words
}

fn count_links(text: &str) -> usize {
    let lower = text.to_lowercase();
    lower.matches("http://").count()
        + lower.matches("https://").count()
        + lower
            .split_whitespace()
            .filter(|w| w.starts_with("www."))
            .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> ContentFilter {
        ContentFilter::new(&["cheater".to_string()])
    }

    #[test]
    fn clean_comments_pass() {
        for ok in [
            "What a jab!",
            "Skim milk, um, no",
            "He is 100% the better striker",
            "Round 3 to red, 10-9",
            "see https://ringside.example/fight",
        ] {
            assert_eq!(filter().check(ok), Verdict::Clean, "{ok}");
        }
    }

    #[test]
    fn blocked_terms_are_caught_through_evasions() {
        for bad in [
            "you scum",
            "you SCUM",
            "you s c u m",
            "you s.c-u_m",
            "you scuuuuum",
            "you $cum",
            "you 5cum",
            "total 1d10t",
            "what a ch3at3r",
            "c h e a t e r!!",
        ] {
            assert!(
                matches!(filter().check(bad), Verdict::Caught(_)),
                "{bad} should be caught"
            );
        }
    }

    #[test]
    fn a_short_term_inside_other_words_does_not_hide_the_others() {
        // "skyspun" holds "kys" (not a word of its own); "moron" still counts.
        assert!(matches!(
            filter().check("the sky spun, what a moron"),
            Verdict::Caught(_)
        ));
        assert!(matches!(
            filter().check("the sky spun, you scum"),
            Verdict::Caught(_)
        ));
        assert!(matches!(
            filter().check("the sky spun, what a cheater"),
            Verdict::Caught(_)
        ));
        assert_eq!(filter().check("the sky spun"), Verdict::Clean);
    }

    #[test]
    fn link_spam_is_caught() {
        assert!(matches!(
            filter().check("buy http://a.example and https://b.example"),
            Verdict::Caught(_)
        ));
        assert!(matches!(
            filter().check("www.a.example www.b.example"),
            Verdict::Caught(_)
        ));
    }

    #[test]
    fn repeats_ignore_case_spacing_and_stretching_but_not_numbers() {
        assert_eq!(repeat_key("GREAT fight!!!"), repeat_key("great   fiiight"));
        assert_ne!(repeat_key("great fight"), repeat_key("bad fight"));
        assert_ne!(repeat_key("comment 1"), repeat_key("comment 11"));
        assert_ne!(repeat_key("round 2"), repeat_key("round 6"));
    }
}
