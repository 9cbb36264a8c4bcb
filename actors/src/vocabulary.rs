//! Every fixed set of words Ringside stores or accepts: reaction types,
//! update types, statuses, platforms and the rest, each one Rust type,
//! defined here once. The database's CHECK constraints must list exactly
//! these values (a test reads them back from PostgreSQL and compares), and
//! validation, serde and the API documents take their values from here.
//!
//! A new reaction type, say, is a line here and a migration; the test says
//! when one is missing.

/// A closed set of words: each variant and its wire/SQL spelling.
pub trait Vocabulary: Sized + Copy + 'static {
    /// What the words name, for messages ("reaction type").
    const NAME: &'static str;
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;

    /// Every spelling, in declaration order.
    fn words() -> Vec<&'static str> {
        Self::ALL.iter().map(|v| v.as_str()).collect()
    }

    /// The variant spelled `word`, if any.
    fn parse(word: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == word)
    }

    /// "must be one of a, b, c": the message for a bad value.
    fn expected() -> String {
        format!("must be one of {}", Self::words().join(", "))
    }
}

/// Declares string enumerations that serialize as their spelling.
macro_rules! vocabulary {
    ($(
        $(#[$meta:meta])*
        $name:ident ($what:literal) { $($variant:ident = $word:literal),+ $(,)? }
    )+) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $word)] $variant),+
        }

        impl Vocabulary for $name {
            const NAME: &'static str = $what;
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}

vocabulary! {
    /// What a reaction is.
    ReactionType ("reaction type") {
        Like = "like", Wow = "wow", Angry = "angry", Sad = "sad", Celebrate = "celebrate",
    }
    /// What can be reacted to.
    ReactionTarget ("reaction target") {
        Update = "update", Comment = "comment", Fight = "fight", Event = "event",
    }
    /// What a live update reports.
    UpdateType ("update type") {
        FightStart = "fight_start", RoundStart = "round_start", RoundEnd = "round_end",
        Knockdown = "knockdown", SubmissionAttempt = "submission_attempt", Result = "result",
        News = "news",
    }
    /// How a fight ended (the official result), as the Unified Rules name it.
    ResultMethod ("result method") {
        Ko = "ko", Tko = "tko", Submission = "submission",
        TechnicalSubmission = "technical_submission", UnanimousDecision = "unanimous_decision",
        SplitDecision = "split_decision", MajorityDecision = "majority_decision",
        UnanimousDraw = "unanimous_draw", SplitDraw = "split_draw", MajorityDraw = "majority_draw",
        TechnicalDecision = "technical_decision", TechnicalDraw = "technical_draw", Dq = "dq",
        NoContest = "no_contest",
    }
    /// Who stopped a fight won by TKO.
    Stoppage ("stoppage") {
        Referee = "referee", Doctor = "doctor", Corner = "corner",
    }
    /// A live fight's state (DESIGN §9).
    FightStatus ("fight status") {
        Upcoming = "upcoming", InProgress = "in_progress", Completed = "completed",
        Cancelled = "cancelled",
    }
    /// What a fight's timeline records: one word per transition.
    TransitionKind ("transition") {
        OfficialsAssigned = "officials_assigned", FightStarted = "fight_started",
        RoundStarted = "round_started", RoundPaused = "round_paused",
        RoundResumed = "round_resumed", ClockSet = "clock_set", RoundEnded = "round_ended",
        Foul = "foul", Score = "score", Stats = "stats", Result = "result",
        ResultAmended = "result_amended", FightCancelled = "fight_cancelled",
    }
    /// A live comment's state.
    CommentStatus ("comment status") {
        Active = "active", Held = "held", Hidden = "hidden", Deleted = "deleted",
    }
    /// A report's state.
    ReportStatus ("report status") {
        Open = "open", Upheld = "upheld", Dismissed = "dismissed",
    }
    /// A poll's state.
    PollStatus ("poll status") {
        Draft = "draft", Open = "open", Closed = "closed",
    }
    /// A sanction on a user.
    SanctionKind ("sanction") {
        Mute = "mute", Ban = "ban",
    }
    /// What a moderator (or the system) did, as the audit log records it.
    ModerationAction ("moderation action") {
        HideComment = "hide_comment", DeleteComment = "delete_comment",
        RestoreComment = "restore_comment", AutoHideComment = "auto_hide_comment",
        HoldComment = "hold_comment", MuteUser = "mute_user", UnmuteUser = "unmute_user",
        BanUser = "ban_user", UnbanUser = "unban_user", SlowMode = "slow_mode",
        ApproveUpdate = "approve_update", RejectUpdate = "reject_update",
        DismissReport = "dismiss_report", Automation = "automation",
        CancelAutomation = "cancel_automation",
    }
    /// What a moderation action was done to.
    ModerationTarget ("moderation target") {
        Comment = "comment", User = "user", Event = "event", Update = "update", Report = "report",
        Fight = "fight", Poll = "poll", Job = "job",
    }
    /// What can be followed.
    JobKind ("automation job") {
        AutoStart = "auto_start", Reminder = "reminder", Advance = "advance",
        RoundEnd = "round_end", PollClose = "poll_close", Complete = "complete",
    }

    JobStatus ("job status") {
        Pending = "pending", Done = "done", Cancelled = "cancelled", Skipped = "skipped",
    }

    FollowTarget ("follow target") {
        Fighter = "fighter", Event = "event",
    }
    /// What the activity log records.
    ActivityType ("activity type") {
        View = "view", Comment = "comment", Like = "like", Share = "share", Follow = "follow",
        React = "react", Vote = "vote",
    }
    /// What a notification is about (and which preference switch covers it).
    NotificationType ("notification type") {
        FightResult = "fight_result", BreakingNews = "breaking_news",
        RankingChange = "ranking_change", EventStart = "event_start",
        UserActivity = "user_activity", System = "system", Emergency = "emergency",
    }
    /// A notification's push deliveries, rolled up.
    DeliveryStatus ("delivery status") {
        Pending = "pending", Sending = "sending", Sent = "sent", Partial = "partial",
        Failed = "failed", Skipped = "skipped",
    }
    /// One push delivery in the outbox.
    OutboxStatus ("outbox status") {
        Pending = "pending", InFlight = "in_flight", Sent = "sent", Failed = "failed",
        InvalidToken = "invalid_token", Expired = "expired",
    }
    /// A device's push platform.
    Platform ("platform") {
        Android = "android", Ios = "ios",
    }
    /// What started a notification campaign.
    CampaignSource ("campaign source") {
        Trigger = "trigger", Send = "send", Broadcast = "broadcast",
    }
    /// A media asset's kind.
    MediaKind ("media kind") {
        Image = "image", Video = "video", Audio = "audio",
    }
    /// Why a fighter's rank or rating moved (a ranking history row).
    RankingCause ("ranking cause") {
        Entered = "entered", Imported = "imported", Fight = "fight", Passed = "passed",
        Amended = "amended",
    }
    /// An article's state.
    ArticleStatus ("article status") {
        Draft = "draft", Published = "published", Archived = "archived",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_through_parse_and_serde() {
        for t in ReactionType::ALL {
            assert_eq!(ReactionType::parse(t.as_str()), Some(*t));
            let json = serde_json::to_string(t).expect("serializes");
            assert_eq!(json, format!("\"{t}\""));
            let back: ReactionType = serde_json::from_str(&json).expect("deserializes");
            assert_eq!(back, *t);
        }
        assert_eq!(Platform::parse("windows"), None);
        assert_eq!(Platform::expected(), "must be one of android, ios");
        assert_eq!(OutboxStatus::InFlight.as_str(), "in_flight");
    }

    #[test]
    fn the_enumerations_kept_beside_their_rules_have_their_spellings() {
        assert_eq!(
            <crate::Role as Vocabulary>::words(),
            ["viewer", "reporter", "moderator", "admin"]
        );
        assert_eq!(
            <crate::EventStatus as Vocabulary>::words(),
            ["upcoming", "live", "completed", "cancelled"]
        );
        assert_eq!(
            <crate::fight::Winner as Vocabulary>::words(),
            ["red", "blue"]
        );
        assert_eq!(
            <crate::fight::Winner as Vocabulary>::parse("blue"),
            Some(crate::fight::Winner::Blue)
        );
        assert_eq!(
            <crate::fight::Winner as Vocabulary>::expected(),
            "must be one of red, blue"
        );
    }
}
