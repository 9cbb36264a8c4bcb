//! Notification texts, written once per type and filled per user. Fields
//! are named in braces (`{user}`, `{red}`, …); a field a template does not
//! use is ignored.

use ringside_actors::fight::{OfficialResult, Winner};
use ringside_actors::vocabulary::{ResultMethod, Stoppage};

/// The values a template may use.
pub struct Fields<'a> {
    pub user: &'a str,
    pub red: &'a str,
    pub blue: &'a str,
    pub winner: &'a str,
    /// The method in words ("split decision").
    pub method: &'a str,
    /// The method with its details ("split decision (29-28, 28-29, 29-28)").
    pub how: &'a str,
    /// " in round 2 (3:12)", or nothing for a decision.
    pub when: &'a str,
    pub event: &'a str,
    /// " and is the new Lightweight champion", or nothing.
    pub title: &'a str,
    /// An amendment's reason.
    pub reason: &'a str,
}

#[derive(Debug, Clone, Copy)]
pub enum Template {
    FightResult,
    /// A draw or a no contest.
    FightResultNoWinner,
    /// A correction of a result already told, with a winner now.
    Amended,
    /// A correction to a draw or a no contest.
    AmendedNoWinner,
}

impl Template {
    fn text(self) -> (&'static str, &'static str) {
        match self {
            Template::FightResult => (
                "{winner} wins by {method}",
                "{user}, {winner} beat {loser} by {how}{when} at {event}{title}.",
            ),
            Template::FightResultNoWinner => (
                "{red} vs {blue}: {method}",
                "{user}, {red} vs {blue} ended in a {how}{when} at {event}.",
            ),
            Template::Amended => (
                "Result amended: {winner} wins by {method}",
                "{user}, the result of {red} vs {blue} at {event} is now a win for {winner} by {how}{when}: {reason}.",
            ),
            Template::AmendedNoWinner => (
                "Result amended: {red} vs {blue}, {method}",
                "{user}, the result of {red} vs {blue} at {event} is now a {how}{when}: {reason}.",
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
        .replace("{how}", f.how)
        .replace("{when}", f.when)
        .replace("{event}", f.event)
        .replace("{title}", f.title)
        .replace("{reason}", f.reason)
}

/// The method as people say it: "KO", "split decision".
pub fn method_words(method: ResultMethod) -> &'static str {
    use ResultMethod::*;
    match method {
        Ko => "KO",
        Tko => "TKO",
        Submission => "submission",
        TechnicalSubmission => "technical submission",
        UnanimousDecision => "unanimous decision",
        SplitDecision => "split decision",
        MajorityDecision => "majority decision",
        UnanimousDraw => "unanimous draw",
        SplitDraw => "split draw",
        MajorityDraw => "majority draw",
        TechnicalDecision => "technical decision",
        TechnicalDraw => "technical draw",
        Dq => "disqualification",
        NoContest => "no contest",
    }
}

/// The method with what a fan wants to know of it: the technique, who
/// stopped it, the foul, or the cards (the winner's score first).
pub fn result_words(result: &OfficialResult) -> String {
    let method = method_words(result.method);
    let detail = if let Some(cards) = &result.cards {
        Some(
            cards
                .iter()
                .map(|c| match result.winner {
                    Some(Winner::Blue) => format!("{}-{}", c.blue, c.red),
                    _ => format!("{}-{}", c.red, c.blue),
                })
                .collect::<Vec<_>>()
                .join(", "),
        )
    } else if let Some(t) = &result.technique {
        Some(t.clone())
    } else if let Some(s) = result.stoppage {
        match s {
            Stoppage::Referee => None,
            Stoppage::Doctor => Some("doctor stoppage".into()),
            Stoppage::Corner => Some("corner stoppage".into()),
        }
    } else if let Some(f) = &result.foul {
        Some(f.clone())
    } else {
        result.reason.clone()
    };
    match detail {
        Some(d) => format!("{method} ({d})"),
        None => method.to_string(),
    }
}

/// " in round 2 (3:12)"; nothing for a decision that went the distance.
pub fn result_when(result: &OfficialResult, scheduled_rounds: i32) -> String {
    let distance =
        result.on_the_cards() && result.round == scheduled_rounds && result.time == "5:00";
    if distance {
        String::new()
    } else {
        format!(" in round {} ({})", result.round, result.time)
    }
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

/// An event about to start (automation's reminder to its followers).
pub fn event_reminder(user: &str, event: &str, venue: &str, minutes: i64) -> (String, String) {
    let when = match minutes {
        1 => "1 minute".to_string(),
        m => format!("{m} minutes"),
    };
    (
        format!("{event} starts in {when}"),
        format!("{user}, {event} starts in {when} at {venue}. Don't miss the first bell."),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn result(method: ResultMethod, winner: Option<Winner>) -> OfficialResult {
        OfficialResult {
            method,
            winner,
            round: 2,
            time: "3:14".into(),
            technique: None,
            stoppage: None,
            foul: None,
            reason: None,
            cards: None,
        }
    }

    fn fields<'a>(
        winner: &'a str,
        method: &'a str,
        how: &'a str,
        when: &'a str,
        title: &'a str,
    ) -> Fields<'a> {
        Fields {
            user: "Ana",
            red: "Red Fighter",
            blue: "Blue Fighter",
            winner,
            method,
            how,
            when,
            event: "Fight Night",
            title,
            reason: "a scoring error",
        }
    }

    #[test]
    fn results_say_the_method_its_details_the_round_and_the_title() {
        let mut sub = result(ResultMethod::Submission, Some(Winner::Blue));
        sub.technique = Some("rear-naked choke".into());
        let how = result_words(&sub);
        let when = result_when(&sub, 3);
        let (title, message) = Template::FightResult.render(&fields(
            "Blue Fighter",
            method_words(sub.method),
            &how,
            &when,
            " and is the new Lightweight champion",
        ));
        assert_eq!(title, "Blue Fighter wins by submission");
        assert_eq!(
            message,
            "Ana, Blue Fighter beat Red Fighter by submission (rear-naked choke) in round 2 (3:14) at Fight Night and is the new Lightweight champion."
        );
        let mut split = result(ResultMethod::SplitDecision, Some(Winner::Blue));
        split.round = 3;
        split.time = "5:00".into();
        split.cards = Some(
            [(28, 29), (29, 28), (28, 29)]
                .iter()
                .map(|(r, b)| ringside_actors::scoring::CardTotal {
                    judge: "J".into(),
                    red: *r,
                    blue: *b,
                })
                .collect(),
        );
        assert_eq!(result_words(&split), "split decision (29-28, 28-29, 29-28)");
        assert_eq!(
            result_when(&split, 3),
            "",
            "a decision that went the distance has no time"
        );
        let mut tko = result(ResultMethod::Tko, Some(Winner::Red));
        tko.stoppage = Some(Stoppage::Doctor);
        assert_eq!(result_words(&tko), "TKO (doctor stoppage)");
        tko.stoppage = Some(Stoppage::Referee);
        assert_eq!(result_words(&tko), "TKO");
        let mut nc = result(ResultMethod::NoContest, None);
        nc.foul = Some("accidental eye poke".into());
        let (title, message) = Template::FightResultNoWinner.render(&fields(
            "",
            method_words(nc.method),
            &result_words(&nc),
            &result_when(&nc, 3),
            "",
        ));
        assert_eq!(title, "Red Fighter vs Blue Fighter: no contest");
        assert_eq!(
            message,
            "Ana, Red Fighter vs Blue Fighter ended in a no contest (accidental eye poke) in round 2 (3:14) at Fight Night."
        );
        let (_, amended) = Template::AmendedNoWinner.render(&fields(
            "",
            "no contest",
            "no contest (failed drug test)",
            " in round 2 (3:14)",
            "",
        ));
        assert_eq!(
            amended,
            "Ana, the result of Red Fighter vs Blue Fighter at Fight Night is now a no contest (failed drug test) in round 2 (3:14): a scoring error."
        );
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
    fn every_method_is_in_words() {
        use ringside_actors::vocabulary::Vocabulary;
        for method in ResultMethod::ALL {
            let words = method_words(*method);
            assert!(!words.contains('_'), "{method}: {words}");
        }
        assert_eq!(method_words(ResultMethod::Dq), "disqualification");
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
