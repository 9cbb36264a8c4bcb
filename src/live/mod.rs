//! The edge of the live core: the Postgres-backed store its rooms read, the
//! bus that delivers committed messages to every node's rooms, the writers
//! that batch through the persistence actor (every write, and reactions into
//! multi-row inserts), the coalesced live totals, the connection slots, the
//! long-poll sessions between polls, and the settings it all runs with.

pub mod analytics;
mod bus;
mod long_poll;
mod persist;
pub mod reaction_writer;
mod slots;
mod store;
mod totals;

pub use bus::{Bus, KickReason};
pub use long_poll::{LongPolls, IDLE_AFTER as LONG_POLL_IDLE};
pub use persist::{persist, Persister, PgWriter};
pub use slots::{ConnectionSlots, Full, Slot};
pub use store::PgLiveStore;
pub use totals::{Counted, Totals};

use std::time::Duration;

use ringside_actors::hub::HubConfig;
use ringside_actors::persistence::PersistenceConfig;
use ringside_actors::room::RoomConfig;
use ringside_actors::session::SessionConfig;

use crate::config::Config;

/// Recent frames each room keeps in memory for resumes.
pub const ROOM_HISTORY: usize = 1000;

pub fn hub_config(config: &Config) -> HubConfig {
    HubConfig {
        max_connections_per_user: config.live.max_connections_per_user as usize,
        max_viewers_per_event: config.live.max_viewers_per_event as usize,
        room: RoomConfig {
            history: ROOM_HISTORY,
            max_subscribers: None,
            viewer_interval: Duration::from_secs(1).min(config.live.update_interval),
            catch_up_buffer: config.live.channel_capacity,
            idle_after: config.room_idle,
            sample_per_second: None,
            presence_list_max: config.engagement.presence_list_max as usize,
            signed_in_reserve: 0,
            resume_max_messages: config.guards.resume_max_messages,
        },
        signed_in_reserve_percent: config.guards.signed_in_reserve_percent,
        room_threads: config.workers,
        queue_expiry: config.live.channel_expiry,
        comment_fanout_per_second: config.engagement.comment_fanout_per_second,
    }
}

pub fn session_config(config: &Config) -> SessionConfig {
    SessionConfig {
        heartbeat_interval: config.live.heartbeat_interval,
        connection_timeout: config.live.connection_timeout,
        queue_capacity: config.live.channel_capacity,
        queue_expiry: config.live.channel_expiry,
        max_frame_size: config.live.max_message_size,
        max_subscriptions: 50,
        frames_per_second: 20,
        max_strikes_per_minute: 20,
        close_grace: config.guards.close_grace,
    }
}

/// Reactions are small and many: bigger batches, each a few statements.
pub fn reaction_persistence_config(config: &Config) -> PersistenceConfig {
    PersistenceConfig {
        max_batch: 512,
        ..persistence_config(config)
    }
}

pub fn persistence_config(config: &Config) -> PersistenceConfig {
    PersistenceConfig {
        max_batch: 64,
        flush_every: Duration::from_millis(2),
        queue_limit: 10_000,
        max_backoff: Duration::from_secs(2),
        deadline: config.database_timeout,
    }
}
