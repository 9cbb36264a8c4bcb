//! The room's behaviour as a client sees it, over a scripted in-memory store.

use serde_json::json;

use super::*;
use crate::protocol::close;
use crate::test_support::{client, eventually, room_config, start_room, FakeStore, Told};

fn news() -> Channel {
    Channel::News
}

fn since(epoch: &str, seq: u64) -> Option<Since> {
    Some(Since {
        epoch: epoch.into(),
        seq,
    })
}

fn join(outbox: &Outbox, since: Option<Since>) -> Join {
    Join {
        outbox: outbox.clone(),
        since,
        reference: None,
        delta: false,
    }
}

/// A store with `news` in epoch "e1" holding `n` frames.
fn store_with(n: u64) -> Arc<FakeStore> {
    let store = FakeStore::new();
    store.add_channel(&news(), "e1");
    for _ in 0..n {
        store.append(&news());
    }
    store
}

#[actix_rt::test]
async fn subscribed_carries_the_head_and_live_frames_follow_in_order() {
    let store = store_with(3);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut c = client(1, None, 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    let subscribed = c.next().await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(subscribed["epoch"], "e1");
    assert_eq!(subscribed["seq"], 3);
    for _ in 0..2 {
        room.do_send(store.append(&news()));
    }
    assert_eq!(c.seqs(2).await, vec![4, 5]);
}

#[actix_rt::test]
async fn early_arrivals_are_delivered_in_seq_order_without_duplicates() {
    let store = store_with(0);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut c = client(1, None, 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    assert_eq!(c.next().await["type"], "subscribed");
    // The store cannot help (replays held): only reordering can deliver.
    store.hold_replays();
    let (one, two, three) = (
        store.append(&news()),
        store.append(&news()),
        store.append(&news()),
    );
    room.do_send(three);
    room.do_send(two.clone());
    room.do_send(one);
    room.do_send(two);
    assert_eq!(c.seqs(3).await, vec![1, 2, 3]);
    room.do_send(store.append(&news()));
    assert_eq!(
        c.seqs(1).await,
        vec![4],
        "the duplicate of 2 never went out"
    );
    store.release_replays();
}

#[actix_rt::test]
async fn a_gap_is_filled_from_the_store_even_after_a_failed_fetch() {
    let store = store_with(0);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut c = client(1, None, 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    assert_eq!(c.next().await["type"], "subscribed");
    // Frames 1 and 2 never reach the room; 3 does. The first fetch fails.
    store.fail_replays(1);
    store.append(&news());
    store.append(&news());
    room.do_send(store.append(&news()));
    assert_eq!(c.seqs(3).await, vec![1, 2, 3]);
    assert!(
        store.replay_calls().len() >= 2,
        "retried after the failure: {:?}",
        store.replay_calls()
    );
}

#[actix_rt::test]
async fn a_restarted_room_keeps_its_subscribers_and_replays_what_they_missed() {
    let store = store_with(2);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut c = client(1, None, 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    assert_eq!(c.next().await["seq"], 2);
    room.do_send(store.append(&news()));
    assert_eq!(c.seqs(1).await, vec![3]);
    // Published while the room is down: only the store has them.
    store.append(&news());
    store.append(&news());
    room.do_send(InjectPanic);
    assert_eq!(
        c.seqs(2).await,
        vec![4, 5],
        "caught up, no second subscribed"
    );
    assert_eq!(room.send(Subscribers).await.expect("room"), 1);
    room.do_send(store.append(&news()));
    assert_eq!(c.seqs(1).await, vec![6]);
    assert!(c.told_nothing());
}

#[actix_rt::test]
async fn a_reload_finds_frames_the_room_never_heard_and_a_new_epoch_means_resync() {
    let store = store_with(1);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut c = client(1, None, 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    assert_eq!(c.next().await["seq"], 1);
    // Published elsewhere while this node could not hear the bus.
    store.append(&news());
    store.append(&news());
    room.send(Reload).await.expect("room");
    assert_eq!(c.seqs(2).await, vec![2, 3]);
    // The history was reset under a new epoch: the client must reload.
    store.reset_epoch(&news(), "e2");
    room.send(Reload).await.expect("room");
    let resync = c.next().await;
    assert_eq!(resync["type"], "resync");
    assert_eq!(resync["reason"], "history_gap");
}

#[actix_rt::test]
async fn resume_within_the_window_replays_from_memory() {
    let store = store_with(0);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut first = client(1, None, 64);
    room.send(join(&first.outbox, None)).await.expect("join");
    for _ in 0..5 {
        room.do_send(store.append(&news()));
    }
    assert_eq!(first.next().await["type"], "subscribed");
    assert_eq!(first.seqs(5).await, vec![1, 2, 3, 4, 5]);
    let mut back = client(2, None, 64);
    room.send(join(&back.outbox, since("e1", 2)))
        .await
        .expect("join");
    assert_eq!(back.next().await["seq"], 5);
    assert_eq!(back.seqs(3).await, vec![3, 4, 5]);
    assert!(store.replay_calls().is_empty(), "memory served it");
}

#[actix_rt::test]
async fn resume_past_the_window_replays_from_the_store_then_live() {
    let store = store_with(0);
    let config = RoomConfig {
        history: 2,
        ..room_config()
    };
    let (room, _) = start_room(&news(), &store, config);
    let mut first = client(1, None, 64);
    room.send(join(&first.outbox, None)).await.expect("join");
    for _ in 0..6 {
        room.do_send(store.append(&news()));
    }
    assert_eq!(first.next().await["type"], "subscribed");
    assert_eq!(first.seqs(6).await, vec![1, 2, 3, 4, 5, 6]);
    // The replay is held while a live frame arrives: it must wait its turn.
    store.hold_replays();
    let mut back = client(2, None, 64);
    room.send(join(&back.outbox, since("e1", 1)))
        .await
        .expect("join");
    assert_eq!(back.next().await["seq"], 6);
    room.send(store.append(&news())).await.expect("publish");
    store.release_replays();
    assert_eq!(back.seqs(6).await, vec![2, 3, 4, 5, 6, 7]);
    assert_eq!(store.replay_calls(), vec![(1, 6)]);
}

#[actix_rt::test]
async fn resumes_that_cannot_be_served_get_resync_with_the_reason() {
    let store = store_with(6);
    let config = RoomConfig {
        history: 2,
        resume_max_messages: 3,
        ..room_config()
    };
    let (room, _) = start_room(&news(), &store, config);
    let cases = [
        (since("other", 5), "unknown_epoch"),
        (since("e1", 9), "unknown_epoch"),
        (since("e1", 2), "too_far_behind"),
    ];
    for (id, (from, reason)) in (1..).zip(cases) {
        let mut c = client(id, None, 64);
        room.send(join(&c.outbox, from)).await.expect("join");
        assert_eq!(c.next().await["type"], "subscribed");
        let resync = c.next().await;
        assert_eq!(resync["type"], "resync");
        assert_eq!(resync["reason"], reason);
        assert_eq!(resync["channel"], "news");
    }
    // Within the limit but the store's history is gone: history_gap.
    store.short_replays(1);
    let mut c = client(10, None, 64);
    room.send(join(&c.outbox, since("e1", 3)))
        .await
        .expect("join");
    assert_eq!(c.next().await["type"], "subscribed");
    let resync = c.next().await;
    assert_eq!(resync["reason"], "history_gap");
    // And when the store fails, the client is told to reload too.
    store.fail_replays(1);
    let mut c = client(11, None, 64);
    room.send(join(&c.outbox, since("e1", 3)))
        .await
        .expect("join");
    assert_eq!(c.next().await["type"], "subscribed");
    assert_eq!(c.next().await["type"], "resync");
}

#[actix_rt::test]
async fn a_long_catch_up_comes_in_pages_that_never_overrun_the_queue() {
    let store = store_with(40);
    let config = RoomConfig {
        history: 1,
        ..room_config()
    };
    let (room, _) = start_room(&news(), &store, config);
    let capacity = 8;
    let mut c = client(1, None, capacity);
    room.send(join(&c.outbox, since("e1", 0)))
        .await
        .expect("join");
    assert_eq!(c.next().await["seq"], 40);
    // The client reads one frame at a time; the room must wait for it.
    assert_eq!(c.seqs(40).await, (1..=40).collect::<Vec<_>>());
    assert!(c.told_nothing(), "never kicked");
    let pages = store.replay_calls();
    assert!(pages.len() >= 40 / (capacity - capacity / 4), "{pages:?}");
    assert!(
        pages
            .iter()
            .all(|(after, upto)| upto - after <= (capacity - capacity / 4) as u64),
        "no page bigger than the queue's room less the headroom: {pages:?}"
    );
}

#[actix_rt::test]
async fn a_full_queue_kicks_the_slow_client_with_4001_and_spares_the_others() {
    let store = store_with(0);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut slow = client(1, None, 2);
    let mut fast = client(2, None, 64);
    room.send(join(&slow.outbox, None)).await.expect("join");
    room.send(join(&fast.outbox, None)).await.expect("join");
    for _ in 0..3 {
        room.do_send(store.append(&news()));
    }
    assert_eq!(slow.told().await, Told::Kick(close::TOO_SLOW));
    assert_eq!(fast.next().await["type"], "subscribed");
    assert_eq!(fast.seqs(3).await, vec![1, 2, 3]);
    assert_eq!(room.send(Subscribers).await.expect("room"), 1, "forgotten");
}

fn hint(author: i64, reply_to: Option<i64>, always: bool) -> Option<FanoutHint> {
    Some(FanoutHint {
        always,
        author: Some(author),
        reply_to,
    })
}

#[actix_rt::test]
async fn over_budget_comments_reach_author_and_addressee_others_get_skipped_ranges() {
    let channel = Channel::Comments(7);
    let store = FakeStore::new();
    store.add_channel(&channel, "e1");
    let config = RoomConfig {
        sample_per_second: Some(1),
        viewer_interval: Duration::from_millis(10),
        ..room_config()
    };
    let (room, _) = start_room(&channel, &store, config);
    let mut author = client(1, Some(10), 64);
    let mut addressee = client(2, Some(20), 64);
    let mut other = client(3, Some(30), 64);
    let mut anonymous = client(4, None, 64);
    for c in [&author, &addressee, &other, &anonymous] {
        room.send(join(&c.outbox, None)).await.expect("join");
    }
    // Seq 1 arrives last, so 1..=6 fan out together (one clock reading):
    // the budget admits 1; 2..=4 and 6 are over it; 5 is never left out.
    store.hold_replays();
    let one = store.append_hinted(&channel, hint(10, Some(20), false));
    let mut rest = Vec::new();
    for seq in 2..=6 {
        rest.push(store.append_hinted(&channel, hint(10, Some(20), seq == 5)));
    }
    for msg in rest {
        room.send(msg).await.expect("publish");
    }
    room.send(one).await.expect("publish");
    for c in [&mut author, &mut addressee] {
        assert_eq!(c.next().await["type"], "subscribed");
        assert_eq!(c.seqs(6).await, vec![1, 2, 3, 4, 5, 6]);
    }
    for c in [&mut other, &mut anonymous] {
        assert_eq!(c.next().await["type"], "subscribed");
        assert_eq!(c.next().await["seq"], 1);
        let skipped = c.next().await;
        assert_eq!(skipped["type"], "skipped");
        assert_eq!(
            skipped["data"],
            json!({ "from_seq": 2, "to_seq": 4, "count": 3 })
        );
        assert_eq!(c.next().await["seq"], 5);
        // The trailing left-out comment is reported by the next tick.
        let trailing = c.next().await;
        assert_eq!(trailing["type"], "skipped");
        assert_eq!(trailing["seq"], 6);
        assert_eq!(trailing["data"]["from_seq"], 6);
    }
    store.release_replays();
}

#[actix_rt::test]
async fn presence_counts_people_and_viewers_count_connections() {
    let channel = Channel::Event(1);
    let store = FakeStore::new();
    store.add_channel(&channel, "e1");
    store.set_snapshot(&channel, json!({ "status": "live" }));
    let config = RoomConfig {
        viewer_interval: Duration::from_millis(10),
        ..room_config()
    };
    let (room, mut headcounts) = start_room(&channel, &store, config);
    // User 5 on two connections, plus one anonymous connection.
    let mut a = client(1, Some(5), 64);
    let b = client(2, Some(5), 64);
    let c = client(3, None, 64);
    for c in [&a, &b, &c] {
        room.send(join(&c.outbox, None)).await.expect("join");
    }
    let expected = Headcount {
        connections: 3,
        members: 2,
        users: Some(vec![5]),
    };
    loop {
        let heard = tokio::time::timeout(crate::test_support::BOUND, headcounts.recv())
            .await
            .expect("a headcount within the bound")
            .expect("owner alive");
        if heard == expected {
            break;
        }
    }
    let presence = room.send(GetPresence).await.expect("room");
    assert_eq!(
        presence,
        Presence {
            count: 2,
            users: Some(vec![5])
        }
    );
    loop {
        let v = a.next_of("viewers").await;
        if v["data"]["count"] == 3 {
            break;
        }
    }
    // Another node's viewers add to ours.
    room.do_send(PeerCount {
        node: "n2".into(),
        headcount: Headcount {
            connections: 4,
            members: 4,
            users: None,
        },
    });
    loop {
        let v = a.next_of("viewers").await;
        if v["data"]["count"] == 7 {
            break;
        }
    }
    let store2 = store.clone();
    eventually("the count stored", || {
        let recorded = store2.viewers_recorded();
        async move { recorded.last() == Some(&7) }
    })
    .await;
    assert_eq!(room.send(GetPresence).await.expect("room").count, 6);
    // A late joiner's snapshot carries both counts.
    let mut d = client(4, Some(6), 64);
    room.send(join(&d.outbox, None)).await.expect("join");
    let snapshot = d.next().await["snapshot"].clone();
    assert_eq!(snapshot["status"], "live", "the stored state");
    assert_eq!(snapshot["viewer_count"], 8);
    assert_eq!(snapshot["presence"]["count"], 6);
}

#[actix_rt::test]
async fn small_channels_announce_who_joined_and_left() {
    let store = store_with(0);
    let config = RoomConfig {
        viewer_interval: Duration::from_millis(10),
        ..room_config()
    };
    let (room, _) = start_room(&news(), &store, config);
    let mut a = client(1, Some(5), 64);
    room.send(join(&a.outbox, None)).await.expect("join");
    let first = a.next_of("presence").await;
    assert_eq!(
        first["data"],
        json!({ "count": 1, "joined": [5], "left": [] })
    );
    let b = client(2, Some(6), 64);
    room.send(join(&b.outbox, None)).await.expect("join");
    let joined = a.next_of("presence").await;
    assert_eq!(
        joined["data"],
        json!({ "count": 2, "joined": [6], "left": [] })
    );
    room.send(Leave { session: 2 }).await.expect("leave");
    let left = a.next_of("presence").await;
    assert_eq!(
        left["data"],
        json!({ "count": 1, "joined": [], "left": [6] })
    );
}

#[actix_rt::test]
async fn the_signed_in_reserve_turns_anonymous_viewers_away_first() {
    let channel = Channel::Event(1);
    let store = FakeStore::new();
    store.add_channel(&channel, "e1");
    let config = RoomConfig {
        max_subscribers: Some(3),
        signed_in_reserve: 1,
        ..room_config()
    };
    let (room, _) = start_room(&channel, &store, config);
    let mut anon1 = client(1, None, 64);
    let mut anon2 = client(2, None, 64);
    let mut anon3 = client(3, None, 64);
    let mut fan = client(4, Some(9), 64);
    let mut late = client(5, Some(10), 64);
    for c in [&anon1, &anon2] {
        room.send(join(&c.outbox, None)).await.expect("join");
    }
    assert_eq!(anon1.next().await["type"], "subscribed");
    assert_eq!(anon2.next().await["type"], "subscribed");
    room.send(join(&anon3.outbox, None)).await.expect("join");
    let refused = anon3.next().await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "room_full");
    assert_eq!(anon3.told().await, Told::NotSubscribed(channel.clone()));
    room.send(join(&fan.outbox, None)).await.expect("join");
    assert_eq!(
        fan.next().await["type"],
        "subscribed",
        "the reserve is theirs"
    );
    room.send(join(&late.outbox, None)).await.expect("join");
    assert_eq!(
        late.next().await["code"],
        "room_full",
        "full for everyone now"
    );
    assert_eq!(room.send(Subscribers).await.expect("room"), 3);
}

#[actix_rt::test]
async fn a_room_for_a_missing_channel_refuses_with_not_found() {
    let store = FakeStore::new();
    let (room, _) = start_room(&news(), &store, room_config());
    let mut c = client(1, None, 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    let refused = c.next().await;
    assert_eq!(refused["code"], "not_found");
    assert_eq!(c.told().await, Told::NotSubscribed(news()));
    assert_eq!(room.send(Subscribers).await.expect("room"), 0);
}

#[actix_rt::test]
async fn a_room_whose_store_is_down_refuses_joins_as_unavailable_until_it_loads() {
    let store = store_with(2);
    store.fail_snapshots(1);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut c = client(1, None, 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    assert_eq!(c.next().await["code"], "unavailable");
    assert_eq!(c.told().await, Told::NotSubscribed(news()));
    // The load is retried; a client that retries gets in once it has loaded.
    let deadline = tokio::time::Instant::now() + crate::test_support::BOUND;
    loop {
        room.send(join(&c.outbox, None)).await.expect("join");
        let answer = c.next().await;
        if answer["type"] == "subscribed" {
            assert_eq!(answer["seq"], 2);
            break;
        }
        assert_eq!(answer["code"], "unavailable");
        assert!(tokio::time::Instant::now() < deadline, "never loaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_rt::test]
async fn a_reload_that_fails_is_retried_and_subscribers_still_get_what_they_missed() {
    let store = store_with(0);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut c = client(1, None, 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    assert_eq!(c.next().await["type"], "subscribed");
    store.append(&news());
    store.append(&news());
    store.fail_snapshots(1);
    room.do_send(Reload);
    assert_eq!(c.seqs(2).await, vec![1, 2]);
}

#[actix_rt::test]
async fn a_subscriber_whose_queue_is_full_at_join_is_kicked_and_not_kept() {
    let store = store_with(0);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut c = client(1, None, 1);
    assert!(c.outbox.deliver(protocol::broadcast(&json!({}))));
    room.send(join(&c.outbox, None)).await.expect("join");
    assert_eq!(c.told().await, Told::Kick(close::TOO_SLOW));
    assert_eq!(room.send(Subscribers).await.expect("room"), 0);
}

#[actix_rt::test]
async fn after_a_reload_a_subscriber_up_to_the_limit_behind_is_replayed_and_further_resyncs() {
    let store = store_with(0);
    let config = RoomConfig {
        resume_max_messages: 3,
        ..room_config()
    };
    let (room, _) = start_room(&news(), &store, config);
    let mut c = client(1, None, 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    assert_eq!(c.next().await["type"], "subscribed");
    for _ in 0..3 {
        store.append(&news());
    }
    room.do_send(Reload);
    assert_eq!(c.seqs(3).await, vec![1, 2, 3], "exactly the limit behind");
    for _ in 0..2 {
        store.append(&news());
    }
    room.do_send(Reload);
    assert_eq!(
        c.seqs(2).await,
        vec![4, 5],
        "behind by the difference, not the sum"
    );
    for _ in 0..4 {
        store.append(&news());
    }
    room.do_send(Reload);
    let resync = c.next().await;
    assert_eq!(
        (resync["type"].clone(), resync["reason"].clone()),
        (json!("resync"), json!("too_far_behind"))
    );
    // It now stands at the head: live frames follow.
    room.do_send(store.append(&news()));
    assert_eq!(c.seqs(1).await, vec![10]);
}

#[actix_rt::test]
async fn resuming_from_the_head_or_the_limit_replays_without_resync() {
    let store = store_with(6);
    let config = RoomConfig {
        history: 10,
        resume_max_messages: 3,
        ..room_config()
    };
    let (room, _) = start_room(&news(), &store, config);
    let mut at_head = client(1, None, 64);
    room.send(join(&at_head.outbox, since("e1", 6)))
        .await
        .expect("join");
    assert_eq!(at_head.next().await["type"], "subscribed");
    let mut at_limit = client(2, None, 64);
    room.send(join(&at_limit.outbox, since("e1", 3)))
        .await
        .expect("join");
    assert_eq!(at_limit.next().await["type"], "subscribed");
    assert_eq!(at_limit.seqs(3).await, vec![4, 5, 6]);
    room.do_send(store.append(&news()));
    assert_eq!(
        at_head.seqs(1).await,
        vec![7],
        "nothing to replay, no resync"
    );
    assert_eq!(at_limit.seqs(1).await, vec![7]);
}

#[actix_rt::test]
async fn a_frame_of_a_new_epoch_makes_the_room_reload_and_its_subscribers_resync() {
    let store = store_with(2);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut c = client(1, None, 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    assert_eq!(c.next().await["seq"], 2);
    store.reset_epoch(&news(), "e2");
    room.do_send(store.append(&news()));
    let resync = c.next().await;
    assert_eq!(
        (resync["type"].clone(), resync["reason"].clone()),
        (json!("resync"), json!("history_gap"))
    );
    // The room follows the new epoch.
    room.do_send(store.append(&news()));
    assert_eq!(c.seqs(1).await, vec![2]);
    let mut late = client(2, None, 64);
    room.send(join(&late.outbox, None)).await.expect("join");
    let subscribed = late.next().await;
    assert_eq!(
        (subscribed["epoch"].clone(), subscribed["seq"].clone()),
        (json!("e2"), json!(2))
    );
}

#[actix_rt::test]
async fn a_gap_that_closes_by_itself_is_not_fetched() {
    let store = store_with(0);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut c = client(1, None, 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    assert_eq!(c.next().await["type"], "subscribed");
    let (one, two) = (store.append(&news()), store.append(&news()));
    room.do_send(two);
    room.do_send(one);
    assert_eq!(c.seqs(2).await, vec![1, 2]);
    // Seq 3 never arrives: only that gap is fetched.
    let _lost = store.append(&news());
    room.do_send(store.append(&news()));
    assert_eq!(c.seqs(2).await, vec![3, 4]);
    assert_eq!(store.replay_calls(), vec![(2, 3)]);
}

#[actix_rt::test]
async fn a_subscriber_catching_up_that_falls_too_far_behind_is_dropped_with_4001() {
    let store = store_with(5);
    let config = RoomConfig {
        history: 1,
        catch_up_buffer: 2,
        ..room_config()
    };
    let (room, _) = start_room(&news(), &store, config);
    let mut c = client(1, None, 64);
    store.hold_replays();
    room.send(join(&c.outbox, since("e1", 0)))
        .await
        .expect("join");
    assert_eq!(c.next().await["type"], "subscribed");
    // Live frames wait while the replay is held: two fit, the third does not.
    for _ in 0..3 {
        room.do_send(store.append(&news()));
    }
    assert_eq!(c.told().await, Told::Kick(close::TOO_SLOW));
    assert_eq!(room.send(Subscribers).await.expect("room"), 0);
    store.release_replays();
}

#[actix_rt::test]
async fn a_subscriber_catching_up_gets_the_live_frames_it_held_after_the_replay() {
    let store = store_with(5);
    let config = RoomConfig {
        history: 1,
        catch_up_buffer: 2,
        ..room_config()
    };
    let (room, _) = start_room(&news(), &store, config);
    let mut c = client(1, None, 64);
    store.hold_replays();
    room.send(join(&c.outbox, since("e1", 0)))
        .await
        .expect("join");
    assert_eq!(c.next().await["type"], "subscribed");
    for _ in 0..2 {
        room.do_send(store.append(&news()));
    }
    // The mailbox is in order: once this is answered, both are held.
    assert_eq!(room.send(Subscribers).await.expect("room"), 1);
    store.release_replays();
    assert_eq!(c.seqs(7).await, (1..=7).collect::<Vec<_>>());
    assert!(c.told_nothing());
}

#[actix_rt::test]
async fn hinted_frames_go_to_everyone_in_a_room_without_a_budget() {
    let channel = Channel::Comments(1);
    let store = FakeStore::new();
    store.add_channel(&channel, "e1");
    let (room, _) = start_room(&channel, &store, room_config());
    let mut reader = client(1, Some(9), 64);
    room.send(join(&reader.outbox, None)).await.expect("join");
    assert_eq!(reader.next().await["type"], "subscribed");
    for _ in 0..5 {
        room.do_send(store.append_hinted(&channel, hint(5, None, false)));
    }
    assert_eq!(reader.seqs(5).await, vec![1, 2, 3, 4, 5]);
}

#[actix_rt::test]
async fn a_peer_that_does_not_list_its_members_makes_presence_a_count_only() {
    let store = store_with(0);
    let (room, _) = start_room(&news(), &store, room_config());
    let c = client(1, Some(7), 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    room.send(PeerCount {
        node: "n2".into(),
        headcount: Headcount {
            connections: 40,
            members: 30,
            users: None,
        },
    })
    .await
    .expect("room");
    assert_eq!(
        room.send(GetPresence).await.expect("room"),
        Presence {
            count: 31,
            users: None,
        }
    );
}

#[actix_rt::test]
async fn a_subscriber_that_leaves_during_its_replay_gets_nothing_more_and_others_carry_on() {
    let store = store_with(5);
    let config = RoomConfig {
        history: 1,
        ..room_config()
    };
    let (room, _) = start_room(&news(), &store, config);
    let mut leaving = client(1, None, 64);
    let mut staying = client(2, None, 64);
    room.send(join(&staying.outbox, None)).await.expect("join");
    assert_eq!(staying.next().await["type"], "subscribed");
    store.hold_replays();
    room.send(join(&leaving.outbox, since("e1", 0)))
        .await
        .expect("join");
    assert_eq!(leaving.next().await["type"], "subscribed");
    room.send(Leave { session: 1 }).await.expect("leave");
    store.release_replays();
    room.do_send(store.append(&news()));
    assert_eq!(staying.seqs(1).await, vec![6]);
    assert_eq!(room.send(Subscribers).await.expect("room"), 1);
    // The replay's answer found nobody: nothing reached the one who left.
    assert!(leaving.rx_is_empty(), "nothing after leaving");
}

#[actix_rt::test]
async fn a_reload_that_finds_the_head_behind_a_subscriber_tells_it_to_resync() {
    let store = store_with(3);
    let (room, _) = start_room(&news(), &store, room_config());
    let mut c = client(1, None, 64);
    room.send(join(&c.outbox, None)).await.expect("join");
    assert_eq!(c.next().await["seq"], 3);
    // Same epoch, fewer frames: what the client has is no longer there.
    store.truncate(&news(), 1);
    room.do_send(Reload);
    let resync = c.next().await;
    assert_eq!(
        (resync["type"].clone(), resync["reason"].clone()),
        (json!("resync"), json!("history_gap"))
    );
    room.do_send(store.append(&news()));
    assert_eq!(
        c.seqs(1).await,
        vec![2],
        "it follows the store's head again"
    );
}

#[actix_rt::test]
async fn a_comment_rooms_burst_is_a_quarter_seconds_worth_of_its_budget() {
    let channel = Channel::Comments(7);
    let store = FakeStore::new();
    store.add_channel(&channel, "e1");
    let config = RoomConfig {
        sample_per_second: Some(8),
        ..room_config()
    };
    let (room, _) = start_room(&channel, &store, config);
    let mut reader = client(1, Some(30), 64);
    room.send(join(&reader.outbox, None)).await.expect("join");
    assert_eq!(reader.next().await["type"], "subscribed");
    // Eight a second: a burst of two, then the pace (one per 125 ms).
    for _ in 0..3 {
        room.do_send(store.append_hinted(&channel, hint(10, None, false)));
    }
    room.do_send(store.append(&channel));
    assert_eq!(reader.seqs(2).await, vec![1, 2]);
    let skipped = reader.next().await;
    assert_eq!(
        (skipped["type"].clone(), skipped["data"].clone()),
        (
            json!("skipped"),
            json!({ "from_seq": 3, "to_seq": 3, "count": 1 })
        )
    );
    assert_eq!(reader.seqs(1).await, vec![4]);
}
