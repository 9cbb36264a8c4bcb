//! Notification texts, written once per type and filled per user. Fields
//! are named in braces (`{user}`, `{red}`, …); a field a template does not
//! use is ignored.

/// The values a template may use.
pub struct Fields<'a> {
    pub user: &'a str,
    pub red: &'a str,
    pub blue: &'a str,
    pub winner: &'a str,
    pub method: &'a str,
    pub round: i32,
    pub time: &'a str,
    pub event: &'a str,
}

#[derive(Debug, Clone, Copy)]
pub enum Template {
    FightResult,
    /// A draw or a no contest.
    FightResultNoWinner,
}

impl Template {
    fn text(self) -> (&'static str, &'static str) {
        match self {
            Template::FightResult => (
                "{winner} wins by {method}",
                "{user}, {winner} beat {loser} by {method} in round {round} ({time}) at {event}.",
            ),
            Template::FightResultNoWinner => (
                "{red} vs {blue}: {method}",
                "{user}, {red} vs {blue} ended in a {method} in round {round} ({time}) at {event}.",
            ),
        }
    }

    /// (title, message), filled in.
    pub fn render(self, f: &Fields<'_>) -> (String, String) {
        let (title, message) = self.text();
        (fill(title, f), fill(message, f))
    }
}

fn fill(template: &str, f: &Fields<'_>) -> String {
    let loser = if f.winner == f.red { f.blue } else { f.red };
    template
        .replace("{user}", f.user)
        .replace("{winner}", f.winner)
        .replace("{loser}", loser)
        .replace("{red}", f.red)
        .replace("{blue}", f.blue)
        .replace("{method}", f.method)
        .replace("{round}", &f.round.to_string())
        .replace("{time}", f.time)
        .replace("{event}", f.event)
}

/// A rank as a fan reads it: `#3`, or `champion` for the champion (who
/// has no rank).
pub fn rank_words(rank: Option<i32>) -> String {
    match rank {
        Some(n) => format!("#{n}"),
        None => "champion".into(),
    }
}

/// What a ranking move says: ranks and ratings before and after, and why.
#[derive(Debug, Clone, Copy)]
pub struct RankMove<'a> {
    pub before: Option<i32>,
    pub after: Option<i32>,
    pub rating_before: Option<f64>,
    pub rating_after: f64,
    /// "after beating Y" and the like.
    pub reason: &'a str,
}

/// A ranking move: (title, message).
pub fn ranking_change(user: &str, fighter: &str, division: &str, m: RankMove) -> (String, String) {
    let title = match (m.before, m.after) {
        (_, None) => format!("{fighter} is the {division} champion"),
        (None, Some(n)) => format!("{fighter} is now #{n}"),
        (Some(a), Some(b)) if b < a => format!("{fighter} moves up to #{b}"),
        (_, Some(b)) => format!("{fighter} moves down to #{b}"),
    };
    let rating = match m.rating_before {
        Some(r) => format!("rating {r:.0} → {:.0}", m.rating_after),
        None => format!("rating {:.0}", m.rating_after),
    };
    let greeting = if user.is_empty() {
        String::new()
    } else {
        format!("{user}, ")
    };
    (
        title,
        format!(
            "{greeting}{fighter} moved from {} to {} in the {division} rankings {} ({rating}).",
            rank_words(m.before),
            rank_words(m.after),
            m.reason
        ),
    )
}

/// A live event begins: (title, message).
pub fn event_start(user: &str, event: &str, venue: &str) -> (String, String) {
    (
        format!("{event} is live"),
        format!("{user}, {event} has started at {venue}. Follow it live."),
    )
}

/// Breaking news: the update's own words, personalised when it has a body.
pub fn breaking_news(user: &str, title: &str, description: &str) -> (String, String) {
    let message = if description.is_empty() {
        title.to_string()
    } else if user.is_empty() {
        description.to_string()
    } else {
        format!("{user}, {description}")
    };
    (format!("Breaking: {title}"), message)
}

/// A reply to the user's comment: (title, message), the reply cut short.
pub fn reply(user: &str, author: &str, content: &str) -> (String, String) {
    const MAX: usize = 140;
    let excerpt = if content.chars().count() > MAX {
        let mut s: String = content.chars().take(MAX - 1).collect();
        s.push('…');
        s
    } else {
        content.to_string()
    };
    (
        format!("{author} replied to you"),
        format!("{user}, {author} replied to your comment: \u{201c}{excerpt}\u{201d}"),
    )
}

/// An admin's text, personalised: `{user}` becomes the recipient's name.
pub fn personalise(text: &str, user: &str) -> String {
    text.replace("{user}", user)
}

/// `ko_tko` → "KO/TKO", as people say it.
pub fn method_words(method: &str) -> String {
    match method {
        "ko_tko" => "KO/TKO",
        "submission" => "submission",
        "unanimous_decision" => "unanimous decision",
        "split_decision" => "split decision",
        "majority_decision" => "majority decision",
        "draw" => "draw",
        "dq" => "disqualification",
        "no_contest" => "no contest",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(winner: &'a str, method: &'a str) -> Fields<'a> {
        Fields {
            user: "Ana",
            red: "Red Fighter",
            blue: "Blue Fighter",
            winner,
            method,
            round: 2,
            time: "3:14",
            event: "Fight Night",
        }
    }

    #[test]
    fn results_are_written_once_and_filled_per_user() {
        let (title, message) = Template::FightResult.render(&fields("Blue Fighter", "KO/TKO"));
        assert_eq!(title, "Blue Fighter wins by KO/TKO");
        assert_eq!(
            message,
            "Ana, Blue Fighter beat Red Fighter by KO/TKO in round 2 (3:14) at Fight Night."
        );
        let (title, _) = Template::FightResultNoWinner.render(&fields("", "draw"));
        assert_eq!(title, "Red Fighter vs Blue Fighter: draw");
        assert_eq!(method_words("split_decision"), "split decision");
        let up = RankMove {
            before: Some(4),
            after: Some(2),
            rating_before: Some(1702.4),
            rating_after: 1731.0,
            reason: "after beating Red Fighter",
        };
        assert_eq!(
            ranking_change("Ana", "Blue Fighter", "Lightweight", up),
            (
                "Blue Fighter moves up to #2".to_string(),
                "Ana, Blue Fighter moved from #4 to #2 in the Lightweight rankings after beating \
                 Red Fighter (rating 1702 → 1731)."
                    .to_string()
            )
        );
        let crowned = RankMove { after: None, ..up };
        assert_eq!(
            ranking_change("", "Blue Fighter", "Lightweight", crowned).0,
            "Blue Fighter is the Lightweight champion"
        );
    }

    #[test]
    fn every_method_is_in_words_and_an_unknown_one_as_it_is() {
        let cases = [
            ("ko_tko", "KO/TKO"),
            ("submission", "submission"),
            ("unanimous_decision", "unanimous decision"),
            ("split_decision", "split decision"),
            ("majority_decision", "majority decision"),
            ("draw", "draw"),
            ("dq", "disqualification"),
            ("no_contest", "no contest"),
            ("doctor_stoppage", "doctor_stoppage"),
        ];
        for (method, words) in cases {
            assert_eq!(method_words(method), words);
        }
    }

    #[test]
    fn breaking_news_uses_the_description_when_there_is_one() {
        assert_eq!(
            breaking_news("Ana", "Weigh-ins done", ""),
            (
                "Breaking: Weigh-ins done".to_string(),
                "Weigh-ins done".to_string()
            )
        );
        assert_eq!(
            breaking_news("Ana", "Title change", "the belt moves").1,
            "Ana, the belt moves"
        );
        assert_eq!(
            breaking_news("", "Title change", "the belt moves").1,
            "the belt moves"
        );
    }

    #[test]
    fn a_reply_is_quoted_whole_up_to_140_characters_then_cut_short() {
        let exactly = "é".repeat(140);
        let (title, message) = reply("Ana", "Bo", &exactly);
        assert_eq!(title, "Bo replied to you");
        assert!(message.contains(&exactly), "{message}");
        let (_, message) = reply("Ana", "Bo", &"é".repeat(141));
        let quoted = format!("\u{201c}{}…\u{201d}", "é".repeat(139));
        assert!(message.ends_with(&quoted), "{message}");
    }
}
