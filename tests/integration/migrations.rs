use diesel::{Connection, PgConnection};
use diesel_migrations::MigrationHarness;
use ringside::db::MIGRATIONS;

use crate::harness;

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

fn tables(conn: &mut PgConnection) -> Vec<String> {
    use diesel::RunQueryDsl;
    diesel::sql_query(
        "SELECT table_name AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' ORDER BY 1",
    )
    .load::<Name>(conn)
    .expect("tables")
    .into_iter()
    .map(|n| n.name)
    .collect()
}

#[test]
fn migrations_run_up_down_and_up_again() {
    let url = harness::cluster().url("postgres");
    {
        use diesel::RunQueryDsl;
        let mut admin = PgConnection::establish(&url).expect("connect");
        diesel::sql_query("CREATE DATABASE migrations_roundtrip")
            .execute(&mut admin)
            .expect("create");
    }
    let mut conn =
        PgConnection::establish(&harness::cluster().url("migrations_roundtrip")).expect("connect");

    let applied = conn.run_pending_migrations(MIGRATIONS).expect("up").len();
    assert!(applied >= 5, "applied {applied}");
    let after_up = tables(&mut conn);
    for table in [
        "users",
        "divisions",
        "fighters",
        "events",
        "fights",
        "rankings",
        "media_assets",
        "articles",
        "live_events",
        "live_fights",
        "live_updates",
        "push_notifications",
        "user_activities",
        "live_comments",
        "reaction_events",
        "devices",
        "notification_preferences",
        "notification_deliveries",
        "polls",
        "poll_options",
        "poll_votes",
        "moderation_actions",
        "comment_reports",
        "channel_sequences",
        "channel_messages",
        "follows",
        "fight_timeline",
        "user_sanctions",
        "ranking_history",
    ] {
        assert!(
            after_up.contains(&table.to_string()),
            "missing table {table}"
        );
    }

    conn.revert_all_migrations(MIGRATIONS).expect("down");
    assert_eq!(
        tables(&mut conn),
        Vec::<String>::new(),
        "down.sql must drop everything"
    );

    let again = conn
        .run_pending_migrations(MIGRATIONS)
        .expect("up again")
        .len();
    assert_eq!(again, applied);
    assert_eq!(tables(&mut conn), after_up);
}

#[test]
fn constraints_refuse_what_must_never_happen() {
    use diesel::connection::SimpleConnection;
    use diesel::RunQueryDsl;
    let url = harness::fresh_database();
    let mut conn = PgConnection::establish(&url).expect("connect");
    let refused = |conn: &mut PgConnection, sql: &str| {
        let result =
            conn.transaction::<_, diesel::result::Error, _>(|c| diesel::sql_query(sql).execute(c));
        assert!(result.is_err(), "accepted: {sql}");
    };
    conn.batch_execute(
        "INSERT INTO users (email, password_hash, display_name) VALUES ('a@b.io', 'x', 'A'), ('c@d.io', 'x', 'C');
         INSERT INTO divisions (name, weight_limit_lbs) VALUES ('LW', 155);
         INSERT INTO fighters (name, division_id) VALUES ('R', 1), ('B', 1);
         INSERT INTO events (name, scheduled_start) VALUES ('E1', now()), ('E2', now());
         INSERT INTO fights (event_id, red_fighter_id, blue_fighter_id, division_id, card_order) VALUES (1, 1, 2, 1, 1), (2, 1, 2, 1, 1);
         INSERT INTO live_events (event_id) VALUES (1), (2);
         INSERT INTO live_comments (live_event_id, user_id, content) VALUES (1, 1, 'first');
         INSERT INTO polls (live_event_id, question) VALUES (1, 'Who wins?'), (1, 'Method?');
         INSERT INTO poll_options (poll_id, position, text) VALUES (1, 0, 'Red'), (1, 1, 'Blue'), (2, 0, 'KO');
         INSERT INTO poll_votes (poll_id, option_id, user_id) VALUES (1, 1, 1);",
    )
    .expect("seed rows");

    refused(&mut conn, "INSERT INTO users (email, password_hash, display_name, role) VALUES ('x@y.io', 'x', 'X', 'root')");
    refused(
        &mut conn,
        "INSERT INTO users (email, password_hash, display_name) VALUES ('A@B.io', 'x', 'X')",
    );
    refused(
        &mut conn,
        "UPDATE live_events SET status = 'paused' WHERE id = 1",
    );
    refused(&mut conn, "INSERT INTO fights (event_id, red_fighter_id, blue_fighter_id, division_id, card_order) VALUES (1, 1, 1, 1, 2)");
    // One vote per user per poll; a vote only for that poll's own options.
    refused(
        &mut conn,
        "INSERT INTO poll_votes (poll_id, option_id, user_id) VALUES (1, 2, 1)",
    );
    refused(
        &mut conn,
        "INSERT INTO poll_votes (poll_id, option_id, user_id) VALUES (1, 3, 2)",
    );
    // A reply must be in its parent's event.
    refused(&mut conn, "INSERT INTO live_comments (live_event_id, user_id, content, parent_comment_id) VALUES (2, 1, 'reply', 1)");
    // A timeline numbers its entries once; one fight of an event in progress.
    diesel::sql_query(
        "INSERT INTO live_fights (live_event_id, fight_id, status) VALUES (1, 1, 'in_progress')",
    )
    .execute(&mut conn)
    .expect("live fight");
    diesel::sql_query("INSERT INTO fight_timeline (live_fight_id, n, kind, data) VALUES (1, 1, 'fight_started', '{}')")
        .execute(&mut conn)
        .expect("an entry");
    refused(
        &mut conn,
        "INSERT INTO fight_timeline (live_fight_id, n, kind, data) VALUES (1, 1, 'score', '{}')",
    );
    refused(
        &mut conn,
        "INSERT INTO fight_timeline (live_fight_id, n, kind, data) VALUES (1, 2, 'headbutt', '{}')",
    );
    diesel::sql_query("INSERT INTO fights (event_id, red_fighter_id, blue_fighter_id, division_id, card_order) VALUES (1, 1, 2, 1, 3)")
        .execute(&mut conn)
        .expect("another fight on the card");
    refused(&mut conn, "INSERT INTO live_fights (live_event_id, fight_id, status) VALUES (1, (SELECT max(id) FROM fights), 'in_progress')");
    refused(&mut conn, "INSERT INTO fights (event_id, red_fighter_id, blue_fighter_id, division_id, card_order, result_method) VALUES (1, 1, 2, 1, 9, 'ko_tko')");
}

#[derive(diesel::QueryableByName)]
struct Check {
    #[diesel(sql_type = diesel::sql_types::Text)]
    tbl: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    def: String,
}

/// `(column, words)` of a `CHECK (column IN ('a', 'b'))`, as PostgreSQL
/// prints it back (`column = ANY (ARRAY['a'::text, 'b'::text])`).
fn enumerated(def: &str) -> Option<(String, Vec<String>)> {
    let at = def.find(" = ANY (ARRAY[")?;
    let column = def[..at]
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()?
        .to_string();
    let list = &def[at + " = ANY (ARRAY[".len()..];
    let list = &list[..list.find(']')?];
    let words = list
        .split(',')
        .filter_map(|w| w.trim().strip_prefix('\'')?.split('\'').next())
        .map(str::to_string)
        .collect();
    Some((column, words))
}

/// Every fixed set of words is one Rust type (`actors/src/vocabulary.rs`),
/// and the database refuses exactly what it does not list: each CHECK that
/// enumerates a column's values lists that type's words, and every such
/// CHECK belongs to a type.
#[test]
fn check_constraints_list_exactly_the_rust_vocabularies() {
    use diesel::RunQueryDsl;
    use ringside_actors::fight::Winner;
    use ringside_actors::vocabulary::*;
    use ringside_actors::{EventStatus, Role};
    use std::collections::BTreeSet;

    let expected: Vec<(&str, &str, Vec<&str>)> = vec![
        ("users", "role", Role::words()),
        ("fights", "winner_corner", Winner::words()),
        ("fights", "result_method", ResultMethod::words()),
        ("media_assets", "kind", MediaKind::words()),
        ("articles", "status", ArticleStatus::words()),
        ("live_events", "status", EventStatus::words()),
        ("live_fights", "status", FightStatus::words()),
        ("fight_timeline", "kind", TransitionKind::words()),
        ("live_updates", "update_type", UpdateType::words()),
        ("live_comments", "status", CommentStatus::words()),
        ("comment_reports", "status", ReportStatus::words()),
        ("reaction_events", "target_type", ReactionTarget::words()),
        ("reaction_events", "reaction_type", ReactionType::words()),
        ("reaction_totals", "target_type", ReactionTarget::words()),
        ("reaction_totals", "reaction_type", ReactionType::words()),
        ("polls", "status", PollStatus::words()),
        ("user_sanctions", "kind", SanctionKind::words()),
        ("moderation_actions", "action", ModerationAction::words()),
        (
            "moderation_actions",
            "target_type",
            ModerationTarget::words(),
        ),
        ("follows", "target_type", FollowTarget::words()),
        ("automation_jobs", "kind", JobKind::words()),
        ("automation_jobs", "status", JobStatus::words()),
        ("user_activities", "activity_type", ActivityType::words()),
        (
            "push_notifications",
            "notification_type",
            NotificationType::words(),
        ),
        (
            "push_notifications",
            "delivery_status",
            DeliveryStatus::words(),
        ),
        ("devices", "platform", Platform::words()),
        ("notification_deliveries", "status", OutboxStatus::words()),
        ("notification_deliveries", "platform", Platform::words()),
        ("notification_campaigns", "source", CampaignSource::words()),
        ("ranking_history", "cause", RankingCause::words()),
    ];
    let mut conn = PgConnection::establish(&harness::fresh_database()).expect("connect");
    let checks = diesel::sql_query(
        "SELECT c.conrelid::regclass::text AS tbl, pg_get_constraintdef(c.oid) AS def \
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
         WHERE c.contype = 'c' AND n.nspname = 'public'",
    )
    .load::<Check>(&mut conn)
    .expect("constraints");
    let mut found = BTreeSet::new();
    for check in &checks {
        let Some((column, words)) = enumerated(&check.def) else {
            continue;
        };
        let Some((_, _, rust)) = expected
            .iter()
            .find(|(t, c, _)| *t == check.tbl && *c == column)
        else {
            panic!(
                "{}.{column} enumerates {words:?} but no Rust vocabulary is declared for it",
                check.tbl
            );
        };
        let db: BTreeSet<&str> = words.iter().map(String::as_str).collect();
        let code: BTreeSet<&str> = rust.iter().copied().collect();
        assert_eq!(db, code, "{}.{column}: database against Rust", check.tbl);
        found.insert((check.tbl.clone(), column));
    }
    for (table, column, _) in &expected {
        assert!(
            found.contains(&(table.to_string(), column.to_string())),
            "{table}.{column} has no CHECK listing its words"
        );
    }
}
