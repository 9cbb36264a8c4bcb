//! The resume cursor of SSE and long-poll streams: one token for every
//! channel a stream follows, so a reconnect resumes them all.
//!
//! Opaque to applications; client libraries may build one from their own
//! per-channel positions: `<channel>@<epoch>:<seq>` entries joined by `,`
//! (`event:7@k3x9:17,comments:7@ab:3`). A long-poll cursor is prefixed by
//! its server-side session, `<session>~`. Epochs never hold `:`, channel
//! names never hold `@`, `,` or `~`.
//!
//! A stream's cursor moves with what it has written ([`Mark`]s): a durable
//! frame moves its channel to its `seq`. `subscribed` names the channel's
//! epoch; its `seq` is the channel's current last one, but when the stream
//! resumed the channel from an earlier `seq` in the same epoch, the replayed
//! frames follow it, so the position stays where the resume started until
//! they come. After a `resync` the stream goes on from the subscription.

use std::collections::BTreeMap;
use std::fmt;

use crate::channel::Channel;
use crate::protocol::{Mark, Since};

/// Where a stream stands on each channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    positions: BTreeMap<Channel, Position>,
    /// Channels being resumed, until their `subscribed` comes.
    resuming: BTreeMap<Channel, Since>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Position {
    epoch: String,
    seq: u64,
    /// The channel's last seq when the stream subscribed.
    subscribed_at: u64,
}

/// A cursor as a client sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The long-poll session it names, if any.
    pub session: Option<String>,
    pub positions: BTreeMap<Channel, Since>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor: {0}")]
pub struct BadCursor(&'static str);

/// Longest cursor accepted (a hundred channels' worth).
const MAX_LEN: usize = 8 * 1024;

impl Cursor {
    /// A stream about to resume these channels.
    pub fn resuming(from: BTreeMap<Channel, Since>) -> Cursor {
        Cursor {
            positions: BTreeMap::new(),
            resuming: from,
        }
    }

    /// Takes in a frame's mark; true if the position moved.
    pub fn note(&mut self, mark: &Mark) -> bool {
        match mark {
            Mark::Subscribed {
                channel,
                epoch,
                seq,
            } => {
                let from = match self.resuming.remove(channel) {
                    Some(since) if since.epoch == *epoch && since.seq <= *seq => since.seq,
                    _ => *seq,
                };
                self.positions.insert(
                    channel.clone(),
                    Position {
                        epoch: epoch.clone(),
                        seq: from,
                        subscribed_at: *seq,
                    },
                );
                true
            }
            Mark::At { channel, seq } => match self.positions.get_mut(channel) {
                Some(p) if *seq > p.seq => {
                    p.seq = *seq;
                    true
                }
                _ => false,
            },
            Mark::Resync { channel } => match self.positions.get_mut(channel) {
                Some(p) if p.subscribed_at > p.seq => {
                    p.seq = p.subscribed_at;
                    true
                }
                _ => false,
            },
        }
    }

    /// The positions, as a resume would ask for them.
    pub fn positions(&self) -> BTreeMap<Channel, Since> {
        self.positions
            .iter()
            .map(|(c, p)| {
                (
                    c.clone(),
                    Since {
                        epoch: p.epoch.clone(),
                        seq: p.seq,
                    },
                )
            })
            .collect()
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self
            .positions
            .iter()
            .map(|(c, p)| (c, p.epoch.as_str(), p.seq));
        write_entries(f, entries)
    }
}

/// A cursor's text: the long-poll session (while it lasts), then positions.
pub fn encode(session: Option<&str>, positions: &BTreeMap<Channel, Since>) -> String {
    let mut text = session.map(|key| format!("{key}~")).unwrap_or_default();
    let entries = positions.iter().map(|(c, s)| (c, s.epoch.as_str(), s.seq));
    // Writing into a String cannot fail.
    let _ = write_entries(&mut text, entries);
    text
}

/// `<channel>@<epoch>:<seq>` entries joined by `,`: the one spelling of a
/// position, for what a stream writes and what a poll answers.
fn write_entries<'a>(
    out: &mut impl fmt::Write,
    entries: impl Iterator<Item = (&'a Channel, &'a str, u64)>,
) -> fmt::Result {
    for (i, (channel, epoch, seq)) in entries.enumerate() {
        if i > 0 {
            out.write_str(",")?;
        }
        write!(out, "{channel}@{epoch}:{seq}")?;
    }
    Ok(())
}

impl Parsed {
    pub fn parse(s: &str) -> Result<Parsed, BadCursor> {
        if s.len() > MAX_LEN {
            return Err(BadCursor("too long"));
        }
        let (session, entries) = match s.split_once('~') {
            Some((session, rest)) if valid_session(session) => (Some(session.to_string()), rest),
            Some(_) => return Err(BadCursor("malformed session")),
            None => (None, s),
        };
        let mut positions = BTreeMap::new();
        for entry in entries.split(',').filter(|e| !e.is_empty()) {
            let (channel, since) = entry
                .split_once('@')
                .ok_or(BadCursor("expected <channel>@<epoch>:<seq> entries"))?;
            let channel: Channel = channel.parse().map_err(|_| BadCursor("unknown channel"))?;
            let since = Since::parse(since).ok_or(BadCursor("expected <epoch>:<seq>"))?;
            positions.insert(channel, since);
        }
        Ok(Parsed { session, positions })
    }
}

/// Session ids are what [`crate::session`] hands out: short, URL-safe.
fn valid_session(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn since(epoch: &str, seq: u64) -> Since {
        Since {
            epoch: epoch.into(),
            seq,
        }
    }

    fn subscribed(channel: Channel, epoch: &str, seq: u64) -> Mark {
        Mark::Subscribed {
            channel,
            epoch: epoch.into(),
            seq,
        }
    }

    #[test]
    fn a_fresh_subscription_starts_at_the_channels_last_seq_and_moves_with_frames() {
        let mut c = Cursor::default();
        assert!(c.note(&subscribed(Channel::Event(7), "k3x9", 17)));
        assert!(c.note(&subscribed(Channel::Comments(7), "ab", 3)));
        assert!(c.note(&Mark::At {
            channel: Channel::Event(7),
            seq: 18
        }));
        assert_eq!(c.to_string(), "event:7@k3x9:18,comments:7@ab:3");
        // A frame already passed (or of a channel not followed) moves nothing.
        assert!(!c.note(&Mark::At {
            channel: Channel::Event(7),
            seq: 18
        }));
        assert!(!c.note(&Mark::At {
            channel: Channel::News,
            seq: 1
        }));
    }

    #[test]
    fn a_resumed_channel_stays_where_the_resume_started_until_the_replay_comes() {
        let from = BTreeMap::from([(Channel::Event(7), since("k3x9", 10))]);
        let mut c = Cursor::resuming(from);
        c.note(&subscribed(Channel::Event(7), "k3x9", 17));
        assert_eq!(c.to_string(), "event:7@k3x9:10");
        c.note(&Mark::At {
            channel: Channel::Event(7),
            seq: 11,
        });
        assert_eq!(c.to_string(), "event:7@k3x9:11");
    }

    #[test]
    fn after_a_resync_the_stream_goes_on_from_the_subscription() {
        // Another epoch: the subscription's position at once.
        let mut c = Cursor::resuming(BTreeMap::from([(Channel::Event(7), since("old", 10))]));
        c.note(&subscribed(Channel::Event(7), "k3x9", 17));
        assert_eq!(c.to_string(), "event:7@k3x9:17");
        // Too far behind in the same epoch: the resync moves it up.
        let mut c = Cursor::resuming(BTreeMap::from([(Channel::Event(7), since("k3x9", 1))]));
        c.note(&subscribed(Channel::Event(7), "k3x9", 5000));
        assert!(c.note(&Mark::Resync {
            channel: Channel::Event(7)
        }));
        assert_eq!(c.to_string(), "event:7@k3x9:5000");
        // A resync never moves a position back past frames already written.
        let mut c = Cursor::default();
        c.note(&subscribed(Channel::Event(7), "k3x9", 17));
        c.note(&Mark::At {
            channel: Channel::Event(7),
            seq: 18,
        });
        assert!(!c.note(&Mark::Resync {
            channel: Channel::Event(7)
        }));
        assert_eq!(c.to_string(), "event:7@k3x9:18");
    }

    #[test]
    fn cursors_parse_with_or_without_a_session_and_bad_ones_do_not() {
        let p = Parsed::parse("event:7@k3x9:17,comments:7@ab:3").expect("parses");
        assert_eq!(p.session, None);
        assert_eq!(p.positions[&Channel::Event(7)], since("k3x9", 17));
        assert_eq!(p.positions[&Channel::Comments(7)], since("ab", 3));
        let p = Parsed::parse("a1b2~news@e:4").expect("parses");
        assert_eq!(p.session.as_deref(), Some("a1b2"));
        assert_eq!(p.positions[&Channel::News], since("e", 4));
        assert_eq!(Parsed::parse("").expect("empty"), Parsed::default());
        for bad in [
            "event:7",
            "event:7@k3x9",
            "nope:1@e:1",
            "event:7@:1",
            "x-y~news@e:1",
            "~news@e:1",
        ] {
            assert!(Parsed::parse(bad).is_err(), "{bad}");
        }
        assert!(Parsed::parse(&"news@e:1,".repeat(2000)).is_err());
        // A hundred and fifty channels fit within the bound.
        let many: Vec<String> = (1..=150)
            .map(|i| format!("event:{i}@abcdefgh:123456"))
            .collect();
        assert_eq!(
            Parsed::parse(&many.join(",")).map(|p| p.positions.len()),
            Ok(150)
        );
    }

    #[test]
    fn what_a_cursor_says_parses_back_to_its_positions() {
        let mut c = Cursor::default();
        c.note(&subscribed(Channel::Event(7), "k3x9", 17));
        c.note(&subscribed(Channel::Division(3), "zz", 0));
        let parsed = Parsed::parse(&c.to_string()).expect("parses");
        assert_eq!(parsed.positions, c.positions());
        let polled = Parsed::parse(&encode(Some("k1"), &c.positions())).expect("parses");
        assert_eq!(polled.session.as_deref(), Some("k1"));
        assert_eq!(polled.positions, c.positions());
        assert_eq!(encode(None, &c.positions()), c.to_string());
    }
}
