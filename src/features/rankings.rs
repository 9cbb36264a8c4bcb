//! Placeholder until the rankings home lands: records only.

use diesel::{PgConnection, QueryResult};
pub use ringside_actors::ranking::Outcome;

use crate::db::channels::Published;
use crate::db::fight_control::{self as db, RankMove, RecordColumn};
use crate::db::models::Fight;

pub struct TitleChange;

pub struct Applied {
    pub published: Vec<Published>,
    pub moves: Vec<RankMove>,
    pub title: Option<TitleChange>,
}

impl Applied {
    pub fn to_notify(&self) -> Vec<&RankMove> {
        self.moves.iter().collect()
    }
}

pub fn apply_result(
    conn: &mut PgConnection,
    fight: &Fight,
    outcome: Outcome,
) -> QueryResult<Applied> {
    use RecordColumn::*;
    let (r, b) = match outcome {
        Outcome::NoContest => (NoContests, NoContests),
        Outcome::Draw => (Draws, Draws),
        Outcome::RedWins => (Wins, Losses),
        Outcome::BlueWins => (Losses, Wins),
    };
    db::bump_record(conn, fight.red_fighter_id, r)?;
    db::bump_record(conn, fight.blue_fighter_id, b)?;
    Ok(Applied {
        published: Vec::new(),
        moves: Vec::new(),
        title: None,
    })
}

pub fn reverse_result(
    _: &mut PgConnection,
    _: &Fight,
    _: Outcome,
    _: &str,
) -> QueryResult<Applied> {
    Ok(Applied {
        published: Vec::new(),
        moves: Vec::new(),
        title: None,
    })
}
