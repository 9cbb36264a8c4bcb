//! Channel names: what a client subscribes to. Each durable message belongs
//! to one channel and carries that channel's sequence number.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// `event:{live_event_id}`: the event and everything on its card.
    Event(i64),
    /// `fight:{live_fight_id}`: one fight.
    Fight(i64),
    /// `comments:{live_event_id}`: the event's comment stream.
    Comments(i64),
    /// `user:{id}`: one user's notifications; only that user may follow it.
    User(i64),
    /// `moderation:{live_event_id}`: the staff's view of an event (updates
    /// awaiting approval, comments held or reported); moderators and admins.
    Moderation(i64),
    /// `news`: breaking news from every event.
    News,
    /// `rankings`: every ranking move.
    Rankings,
    /// `rankings:{division_id}`: one division's ranking moves.
    Division(i64),
}

/// Who may follow a restricted channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restriction {
    /// Only this user.
    Owner(i64),
    /// Users with this role or a higher one.
    Role(crate::Role),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel {0:?}")]
pub struct UnknownChannel(pub String);

impl Channel {
    /// The live event a channel belongs to, for per-event limits.
    pub fn live_event(&self) -> Option<i64> {
        match self {
            Channel::Event(id) | Channel::Comments(id) => Some(*id),
            _ => None,
        }
    }

    /// Who may follow this channel, if not everyone (`None`).
    pub fn restricted_to(&self) -> Option<Restriction> {
        match self {
            Channel::User(owner) => Some(Restriction::Owner(*owner)),
            Channel::Moderation(_) => Some(Restriction::Role(crate::Role::Moderator)),
            _ => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::Event(id) => write!(f, "event:{id}"),
            Channel::Fight(id) => write!(f, "fight:{id}"),
            Channel::Comments(id) => write!(f, "comments:{id}"),
            Channel::User(id) => write!(f, "user:{id}"),
            Channel::Moderation(id) => write!(f, "moderation:{id}"),
            Channel::News => f.write_str("news"),
            Channel::Rankings => f.write_str("rankings"),
            Channel::Division(id) => write!(f, "rankings:{id}"),
        }
    }
}

impl FromStr for Channel {
    type Err = UnknownChannel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownChannel(s.chars().take(100).collect());
        match s {
            "news" => return Ok(Channel::News),
            "rankings" => return Ok(Channel::Rankings),
            _ => {}
        }
        let (kind, id) = s.split_once(':').ok_or_else(unknown)?;
        // Ids are positive decimal numbers, nothing else ("+1", "01" would alias).
        if id.is_empty() || id.starts_with('0') || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unknown());
        }
        let id: i64 = id.parse().map_err(|_| unknown())?;
        match kind {
            "event" => Ok(Channel::Event(id)),
            "fight" => Ok(Channel::Fight(id)),
            "comments" => Ok(Channel::Comments(id)),
            "user" => Ok(Channel::User(id)),
            "moderation" => Ok(Channel::Moderation(id)),
            "rankings" => Ok(Channel::Division(id)),
            _ => Err(unknown()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in [
            Channel::Event(42),
            Channel::Fight(7),
            Channel::Comments(42),
            Channel::User(5),
            Channel::Moderation(9),
            Channel::News,
            Channel::Rankings,
            Channel::Division(3),
        ] {
            assert_eq!(c.to_string().parse::<Channel>(), Ok(c));
        }
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in [
            "",
            "event",
            "event:",
            "event:abc",
            "event:-1",
            "event:01",
            "event:+1",
            "match:1",
            "news:1",
        ] {
            assert!(bad.parse::<Channel>().is_err(), "{bad}");
        }
    }

    #[test]
    fn event_and_comment_channels_belong_to_their_live_event() {
        assert_eq!(Channel::Event(42).live_event(), Some(42));
        assert_eq!(Channel::Comments(42).live_event(), Some(42));
        for other in [
            Channel::Fight(42),
            Channel::User(42),
            Channel::News,
            Channel::Rankings,
            Channel::Division(42),
        ] {
            assert_eq!(other.live_event(), None, "{other}");
        }
    }

    #[test]
    fn an_unknown_name_is_quoted_at_most_100_characters_long() {
        let long = format!("x:{}", "1".repeat(300));
        let err = long.parse::<Channel>().expect_err("unknown");
        assert_eq!(err.0.chars().count(), 100);
        assert_eq!(
            "event:99999999999999999999".parse::<Channel>(),
            Err(UnknownChannel("event:99999999999999999999".into())),
            "out of range"
        );
    }
}
