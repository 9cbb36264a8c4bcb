//! A channel's ordering state in memory: its epoch, the last sequence number
//! delivered, a window of recent frames for cheap resumes, and a reorder
//! buffer for frames that arrive ahead of a gap.

use std::collections::{BTreeMap, VecDeque};

use crate::protocol::Frame;

#[derive(Debug)]
pub struct ChannelLog {
    pub epoch: String,
    /// The last sequence number delivered in order.
    pub last_seq: u64,
    window: VecDeque<(u64, Frame)>,
    capacity: usize,
    early: BTreeMap<u64, Frame>,
}

impl ChannelLog {
    pub fn new(epoch: String, last_seq: u64, capacity: usize) -> ChannelLog {
        ChannelLog {
            epoch,
            last_seq,
            window: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
            early: BTreeMap::new(),
        }
    }

    /// Takes a published frame; returns the frames now deliverable, in order.
    /// Duplicates (already delivered) are dropped; frames past a gap wait.
    pub fn accept(&mut self, seq: u64, frame: Frame) -> Vec<(u64, Frame)> {
        if seq <= self.last_seq {
            return Vec::new();
        }
        self.early.insert(seq, frame);
        let mut ready = Vec::new();
        while let Some(frame) = self.early.remove(&(self.last_seq + 1)) {
            self.last_seq += 1;
            self.remember(self.last_seq, frame.clone());
            ready.push((self.last_seq, frame));
        }
        ready
    }

    fn remember(&mut self, seq: u64, frame: Frame) {
        if self.window.len() == self.capacity {
            self.window.pop_front();
        }
        self.window.push_back((seq, frame));
    }

    /// The range still missing before the earliest early frame, if any:
    /// `(after, upto)` to fetch from the store.
    pub fn gap(&self) -> Option<(u64, u64)> {
        self.early
            .keys()
            .next()
            .map(|first| (self.last_seq, first - 1))
    }

    /// Frames after `after` up to the last delivered, if memory reaches back
    /// that far.
    pub fn replay(&self, after: u64) -> Option<Vec<(u64, Frame)>> {
        if after >= self.last_seq {
            return Some(Vec::new());
        }
        let oldest = self.window.front().map(|(s, _)| *s)?;
        if after + 1 < oldest {
            return None;
        }
        Some(
            self.window
                .iter()
                .filter(|(s, _)| *s > after)
                .cloned()
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Frame {
        Frame::from(s.to_string())
    }

    #[test]
    fn delivers_in_order_across_gaps_and_drops_duplicates() {
        let mut log = ChannelLog::new("e".into(), 10, 100);
        assert!(log.accept(12, f("12")).is_empty());
        assert_eq!(log.gap(), Some((10, 11)));
        let ready: Vec<u64> = log
            .accept(11, f("11"))
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(ready, vec![11, 12]);
        assert!(log.accept(11, f("11")).is_empty());
        assert_eq!(log.gap(), None);
        assert_eq!(log.last_seq, 12);
    }

    #[test]
    fn replays_from_the_window_only_when_it_reaches_back() {
        let mut log = ChannelLog::new("e".into(), 0, 3);
        for s in 1..=5 {
            log.accept(s, f(&s.to_string()));
        }
        let seqs = |v: Option<Vec<(u64, Frame)>>| {
            v.map(|v| v.into_iter().map(|(s, _)| s).collect::<Vec<_>>())
        };
        assert_eq!(seqs(log.replay(2)), Some(vec![3, 4, 5]));
        assert_eq!(seqs(log.replay(4)), Some(vec![5]));
        assert_eq!(seqs(log.replay(5)), Some(vec![]));
        assert_eq!(seqs(log.replay(1)), None, "seq 2 has left the window");
    }
}
