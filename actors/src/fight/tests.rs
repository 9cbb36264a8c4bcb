//! The rules, one test each, including every finding of the night that
//! showed the old engine accepting what cannot happen (issue 13).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::vocabulary::{ResultMethod, Stoppage};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 20, 0, 0)
        .single()
        .expect("time")
}

/// A fight driven through `decide` and `apply`, with its own clock.
struct Night {
    bout: Bout,
    now: DateTime<Utc>,
}

impl Night {
    fn new(rounds: i32) -> Night {
        let mut n = Night {
            bout: Bout::new(rounds),
            now: t0(),
        };
        n.ok(Command::AssignOfficials {
            referee: "Herb Dean".into(),
            judges: vec![
                "Sal D'Amato".into(),
                "Derek Cleary".into(),
                "Chris Lee".into(),
            ],
        });
        n.ok(Command::Start {
            other_in_progress: None,
        });
        n
    }

    fn clone_bout(&self) -> Bout {
        self.bout.clone()
    }

    fn try_(&mut self, c: Command) -> Result<Transition, FightError> {
        let t = self.bout.decide(c, self.now)?;
        self.bout.apply(&t, self.now);
        Ok(t)
    }

    fn ok(&mut self, c: Command) -> Transition {
        let what = format!("{c:?}");
        self.try_(c).unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    fn wait(&mut self, seconds: i64) {
        self.now += Duration::seconds(seconds);
    }

    fn round(&mut self, r: i32) {
        self.ok(Command::StartRound { round: r });
        self.wait(300);
        self.ok(Command::EndRound {
            round: r,
            time: None,
            reason: None,
        });
    }

    fn score(
        &mut self,
        judge: &str,
        round: i32,
        red: i32,
        blue: i32,
    ) -> Result<Transition, FightError> {
        self.try_(Command::Score(Score {
            judge: judge.into(),
            round,
            red,
            blue,
        }))
    }

    fn card(&mut self, judge: &str, rounds: &[(i32, i32)]) {
        for (i, (red, blue)) in rounds.iter().enumerate() {
            self.score(judge, i as i32 + 1, *red, *blue)
                .unwrap_or_else(|e| panic!("{judge}: {e}"));
        }
    }

    fn foul(&mut self, corner: Winner, points: i32, intentional: bool) {
        let round = self.bout.round;
        self.ok(Command::Foul {
            corner,
            round,
            foul: "eye poke".into(),
            points,
            intentional,
        });
    }
}

fn result(
    method: &str,
    winner: Option<Winner>,
    round: Option<i32>,
    time: Option<&str>,
) -> ResultInput {
    ResultInput {
        method: method.into(),
        winner,
        round,
        time: time.map(String::from),
        technique: None,
        stoppage: None,
        foul: None,
        reason: None,
    }
}

fn ko(round: i32, time: &str) -> Command {
    Command::Result(result("ko", Some(Winner::Red), Some(round), Some(time)))
}

fn conflict(r: Result<Transition, FightError>) -> String {
    match r {
        Err(FightError::WrongState(m)) => m,
        other => panic!("expected a state refusal, got {other:?}"),
    }
}

const RED: Option<Winner> = Some(Winner::Red);
const BLUE: Option<Winner> = Some(Winner::Blue);

#[test]
fn finding_1_a_decision_that_contradicts_the_cards_is_refused() {
    let mut n = Night::new(3);
    for r in 1..=3 {
        n.round(r);
    }
    n.card("Sal D'Amato", &[(10, 9), (10, 9), (9, 10)]); // 29-28
    n.card("Derek Cleary", &[(9, 10), (9, 10), (10, 9)]); // 28-29
    n.card("Chris Lee", &[(10, 8), (8, 10), (10, 10)]); // 28-28
    let claimed = Command::Result(result("unanimous_decision", RED, Some(3), Some("5:00")));
    match n.try_(claimed) {
        Err(FightError::ContradictsScorecards(v)) => {
            assert_eq!((v.method, v.winner), (ResultMethod::SplitDraw, None));
            let totals: Vec<_> = v.cards.iter().map(|c| (c.red, c.blue)).collect();
            assert_eq!(totals, vec![(29, 28), (28, 29), (28, 28)]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(n.bout.status, FightStatus::InProgress, "nothing changed");
    let t = n.ok(Command::Result(result("split_draw", None, None, None)));
    let Transition::Result(r) = t else { panic!() };
    assert_eq!((r.round, r.time.as_str()), (3, "5:00"));
    assert_eq!(r.cards.map(|c| c.len()), Some(3));
}

#[test]
fn finding_2_no_decision_before_the_fight_is_over() {
    let mut n = Night::new(3);
    n.round(1);
    n.round(2);
    n.ok(Command::StartRound { round: 3 });
    let early = n.try_(Command::Result(result(
        "unanimous_decision",
        RED,
        Some(3),
        Some("5:00"),
    )));
    assert!(conflict(early).contains("after the last round"));
    let at_213 = n.try_(Command::Result(result(
        "majority_decision",
        RED,
        Some(3),
        Some("2:13"),
    )));
    assert!(conflict(at_213).contains("after the last round"));
    // Over, but a card is missing.
    n.wait(300);
    n.ok(Command::EndRound {
        round: 3,
        time: None,
        reason: None,
    });
    n.card("Sal D'Amato", &[(10, 9), (10, 9), (10, 9)]);
    n.card("Derek Cleary", &[(10, 9), (10, 9), (10, 9)]);
    match n.try_(Command::Result(result(
        "unanimous_decision",
        RED,
        None,
        None,
    ))) {
        Err(FightError::CardsIncomplete(missing)) => assert_eq!(missing.len(), 3),
        other => panic!("{other:?}"),
    }
    n.card("Chris Lee", &[(10, 9), (10, 9), (10, 9)]);
    // A decision's time is the horn.
    let wrong_time = n.try_(Command::Result(result(
        "unanimous_decision",
        RED,
        Some(3),
        Some("2:13"),
    )));
    assert!(matches!(
        wrong_time,
        Err(FightError::Invalid { field: "time", .. })
    ));
    n.ok(Command::Result(result(
        "unanimous_decision",
        RED,
        None,
        None,
    )));
}

#[test]
fn finding_3_no_finish_before_the_first_bell_or_later_than_the_clock() {
    let mut n = Night::new(3);
    assert!(conflict(n.try_(ko(1, "0:20"))).contains("round 1 has not started"));
    n.ok(Command::StartRound { round: 1 });
    n.wait(15);
    let late = n.try_(ko(1, "0:20"));
    assert!(conflict(late).contains("clock reads 0:15"));
    n.wait(10);
    assert!(n.try_(ko(2, "0:20")).is_err(), "round 2 is not on");
    n.ok(ko(1, "0:20"));
    assert_eq!(
        n.bout.rounds.get(&1),
        Some(&20_000),
        "round 1 ended at the KO"
    );
    assert_eq!(n.bout.phase, Phase::Over);
}

#[test]
fn finding_4_no_scores_after_the_result() {
    let mut n = Night::new(3);
    n.round(1);
    n.ok(Command::StartRound { round: 2 });
    n.wait(60);
    n.ok(ko(2, "1:00"));
    assert!(conflict(n.score("Chris Lee", 1, 10, 9)).contains("result is in"));
}

#[test]
fn finding_5_only_the_assigned_judges_score_and_each_once() {
    let mut n = Night::new(3);
    n.round(1);
    assert!(matches!(
        n.score("Somebody Else", 1, 10, 9),
        Err(FightError::Invalid { field: "judge", .. })
    ));
    let t = n
        .score("  sal   d'AMATO ", 1, 10, 9)
        .expect("a case variant is the same judge");
    assert_eq!(
        t,
        Transition::Score(Score {
            judge: "Sal D'Amato".into(),
            round: 1,
            red: 10,
            blue: 9
        })
    );
    assert!(matches!(
        n.score("SAL D'AMATO", 1, 10, 8),
        Err(FightError::AlreadyScored { .. })
    ));
    assert!(conflict(n.score("Chris Lee", 2, 10, 9)).contains("not over"));
    assert_eq!(n.bout.cards(1).len(), 3, "three cards, never six");
}

#[test]
fn finding_6_one_fight_in_progress_per_event_and_officials_first() {
    let mut bout = Bout::new(3);
    assert_eq!(
        bout.decide(
            Command::Start {
                other_in_progress: None
            },
            t0()
        ),
        Err(FightError::OfficialsMissing)
    );
    let t = bout
        .decide(
            Command::AssignOfficials {
                referee: "Marc Goddard".into(),
                judges: vec!["A".into(), "B".into(), "C".into()],
            },
            t0(),
        )
        .expect("officials");
    bout.apply(&t, t0());
    assert_eq!(
        bout.decide(
            Command::Start {
                other_in_progress: Some(7)
            },
            t0()
        ),
        Err(FightError::FightInProgress(7))
    );
    assert!(bout
        .decide(
            Command::Start {
                other_in_progress: None
            },
            t0()
        )
        .is_ok());
}

#[test]
fn finding_7_stats_must_be_possible() {
    let mut n = Night::new(3);
    n.ok(Command::StartRound { round: 1 });
    n.wait(100);
    let stats = |pairs: &[(&str, u64)], corner| Command::Stats {
        round: 1,
        corner,
        counters: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        reason: None,
    };
    n.ok(stats(&[("strikes_attempted", 20)], Winner::Red));
    // Landed 50 of 20 attempted, in a second post.
    assert!(n
        .try_(stats(&[("strikes_landed", 50)], Winner::Red))
        .is_err());
    // 30 significant of 10 total.
    n.ok(stats(&[("strikes_landed", 10)], Winner::Red));
    let r = n.try_(stats(
        &[
            ("significant_strikes_landed", 30),
            ("significant_strikes_attempted", 30),
        ],
        Winner::Red,
    ));
    assert!(
        matches!(&r, Err(FightError::Invalid { message, .. }) if message.contains("cannot exceed")),
        "{r:?}"
    );
    // 95 s + 300 s of control in a round whose clock reads 1:40.
    n.ok(stats(&[("control_time_s", 95)], Winner::Red));
    assert!(n
        .try_(stats(&[("control_time_s", 300)], Winner::Blue))
        .is_err());
    assert!(n
        .try_(stats(&[("control_time_s", 6)], Winner::Blue))
        .is_err());
    n.ok(stats(&[("control_time_s", 5)], Winner::Blue));
    assert!(n.try_(stats(&[("elbows", 1)], Winner::Blue)).is_err());
    assert!(n
        .try_(stats(&[("knockdowns", 10_001)], Winner::Blue))
        .is_err());
    // Round 2 has not started.
    let r2 = Command::Stats {
        round: 2,
        corner: Winner::Red,
        counters: BTreeMap::from([("knockdowns".into(), 1)]),
        reason: None,
    };
    assert!(conflict(n.try_(r2)).contains("has not started"));
    assert_eq!(n.bout.counters(1, Winner::Red).strikes_landed, 10);
}

#[test]
fn a_correction_lowers_a_counter_only_with_a_reason() {
    let mut n = Night::new(3);
    n.ok(Command::StartRound { round: 1 });
    n.wait(60);
    let set = |v: u64, reason: Option<&str>| Command::Stats {
        round: 1,
        corner: Winner::Blue,
        counters: BTreeMap::from([("knockdowns".into(), v)]),
        reason: reason.map(String::from),
    };
    n.ok(Command::Stats {
        round: 1,
        corner: Winner::Blue,
        counters: BTreeMap::from([
            ("strikes_attempted".into(), 20),
            ("strikes_landed".into(), 10),
        ]),
        reason: None,
    });
    n.ok(set(2, None));
    assert!(matches!(
        n.try_(set(1, None)),
        Err(FightError::Invalid {
            field: "reason",
            ..
        })
    ));
    let t = n.ok(set(1, Some("the second was a slip")));
    let Transition::Stats {
        before,
        after,
        reason,
        ..
    } = t
    else {
        panic!()
    };
    assert_eq!((before.knockdowns, after.knockdowns), (2, 1));
    assert_eq!(reason.as_deref(), Some("the second was a slip"));
}

#[test]
fn finding_8_deductions_and_every_method_with_its_details() {
    // A point off red in round 1: a 10-9 for red reads 9-9.
    let mut n = Night::new(3);
    n.ok(Command::StartRound { round: 1 });
    n.wait(120);
    n.foul(Winner::Red, 1, true);
    n.wait(180);
    n.ok(Command::EndRound {
        round: 1,
        time: None,
        reason: None,
    });
    n.card("Sal D'Amato", &[(10, 9)]);
    let card = &n.bout.cards(1)[0];
    assert_eq!((card.red, card.blue), (9, 9));
    // Methods need their details.
    n.ok(Command::StartRound { round: 2 });
    n.wait(200);
    let mut sub = result("submission", BLUE, Some(2), Some("3:12"));
    assert!(matches!(
        n.try_(Command::Result(sub.clone())),
        Err(FightError::Invalid {
            field: "technique",
            ..
        })
    ));
    let mut tko = result("tko", RED, Some(2), Some("3:12"));
    assert!(matches!(
        n.try_(Command::Result(tko.clone())),
        Err(FightError::Invalid {
            field: "stoppage",
            ..
        })
    ));
    tko.stoppage = Some(Stoppage::Doctor);
    tko.technique = Some("arm triangle".into());
    assert!(matches!(
        n.try_(Command::Result(tko)),
        Err(FightError::Invalid {
            field: "technique",
            ..
        })
    ));
    assert!(matches!(
        n.try_(Command::Result(result("split_draw", RED, None, None))),
        Err(FightError::Invalid {
            field: "winner",
            ..
        })
    ));
    assert!(matches!(
        n.try_(Command::Result(result("draw", None, None, None))),
        Err(FightError::Invalid {
            field: "method",
            ..
        })
    ));
    sub.technique = Some("rear-naked choke".into());
    let Transition::Result(r) = n.ok(Command::Result(sub)) else {
        panic!()
    };
    assert_eq!(r.technique.as_deref(), Some("rear-naked choke"));
    assert_eq!(
        (r.method, r.round, r.time.as_str()),
        (ResultMethod::Submission, 2, "3:12")
    );
}

#[test]
fn a_doctor_stoppage_between_rounds_is_a_tko_at_the_end_of_the_round() {
    let mut n = Night::new(3);
    n.round(1);
    let mut input = result("tko", BLUE, None, None);
    input.stoppage = Some(Stoppage::Doctor);
    let Transition::Result(r) = n.ok(Command::Result(input)) else {
        panic!()
    };
    assert_eq!(
        (r.round, r.time.as_str(), r.stoppage),
        (1, "5:00", Some(Stoppage::Doctor))
    );
    // The referee stops fights in the round, not on the stool.
    let mut n = Night::new(3);
    n.round(1);
    let mut input = result("tko", BLUE, None, None);
    input.stoppage = Some(Stoppage::Referee);
    assert!(conflict(n.try_(Command::Result(input))).contains("running round"));
}

#[test]
fn a_dq_needs_three_fouls_or_an_intentional_one() {
    let mut n = Night::new(3);
    n.ok(Command::StartRound { round: 1 });
    n.wait(200);
    let mut dq = result("dq", BLUE, None, Some("3:00"));
    dq.foul = Some("repeated groin strikes".into());
    n.foul(Winner::Red, 0, false);
    n.foul(Winner::Red, 1, false);
    assert!(conflict(n.try_(Command::Result(dq.clone()))).contains("three fouls"));
    n.foul(Winner::Red, 1, false);
    let Transition::Result(r) = n.ok(Command::Result(dq)) else {
        panic!()
    };
    assert_eq!(
        (r.winner, r.foul.as_deref()),
        (BLUE, Some("repeated groin strikes"))
    );
    let mut n = Night::new(3);
    n.ok(Command::StartRound { round: 1 });
    n.wait(30);
    n.foul(Winner::Blue, 2, true);
    let mut dq = result("dq", RED, None, Some("0:30"));
    dq.foul = Some("soccer kick to a downed opponent".into());
    n.ok(Command::Result(dq));
}

#[test]
fn an_accidental_foul_before_the_threshold_is_a_no_contest() {
    let mut n = Night::new(3);
    n.round(1);
    n.ok(Command::StartRound { round: 2 });
    n.wait(150);
    n.foul(Winner::Red, 0, false);
    n.ok(Command::Pause {
        reason: "eye poke: recovery time".into(),
    });
    n.ok(Command::EndRound {
        round: 2,
        time: Some("2:30".into()),
        reason: Some("blue cannot continue".into()),
    });
    assert_eq!(n.bout.phase, Phase::Stopped);
    let td = n.try_(Command::Result(result(
        "technical_decision",
        BLUE,
        None,
        None,
    )));
    assert!(conflict(td).contains("before the end of round 2 is a no contest"));
    let mut nc = result("no_contest", None, None, None);
    nc.foul = Some("accidental eye poke".into());
    let Transition::Result(r) = n.ok(Command::Result(nc)) else {
        panic!()
    };
    assert_eq!((r.round, r.time.as_str()), (2, "2:30"));
}

#[test]
fn an_accidental_foul_after_the_threshold_goes_to_the_cards_with_the_round_scored() {
    let mut n = Night::new(3);
    n.round(1);
    n.round(2);
    n.ok(Command::StartRound { round: 3 });
    n.wait(100);
    n.foul(Winner::Blue, 0, false);
    // Not later than the clock, and a stoppage needs a reason.
    assert!(n
        .try_(Command::EndRound {
            round: 3,
            time: Some("1:50".into()),
            reason: Some("x".into())
        })
        .is_err());
    assert!(n
        .try_(Command::EndRound {
            round: 3,
            time: Some("1:40".into()),
            reason: None
        })
        .is_err());
    n.ok(Command::EndRound {
        round: 3,
        time: Some("1:40".into()),
        reason: Some("red cannot continue".into()),
    });
    let mut nc = result("no_contest", None, None, None);
    nc.foul = Some("accidental knee to the groin".into());
    assert!(conflict(n.try_(Command::Result(nc))).contains("goes to the cards"));
    assert!(matches!(
        n.try_(Command::Result(result(
            "technical_decision",
            RED,
            None,
            None
        ))),
        Err(FightError::CardsIncomplete(_))
    ));
    n.card("Sal D'Amato", &[(10, 9), (9, 10), (10, 9)]);
    n.card("Derek Cleary", &[(10, 9), (9, 10), (10, 10)]);
    n.card("Chris Lee", &[(9, 10), (9, 10), (10, 9)]);
    // 29-28 red, 29-29, 28-29 blue: a technical draw.
    assert!(matches!(
        n.try_(Command::Result(result(
            "technical_decision",
            RED,
            None,
            None
        ))),
        Err(FightError::ContradictsScorecards(_))
    ));
    let Transition::Result(r) = n.ok(Command::Result(result("technical_draw", None, None, None)))
    else {
        panic!()
    };
    assert_eq!((r.round, r.time.as_str()), (3, "1:40"));
    // Five rounds: the threshold is round 3.
    let mut n = Night::new(5);
    n.round(1);
    n.round(2);
    n.ok(Command::StartRound { round: 3 });
    n.wait(10);
    n.foul(Winner::Blue, 0, false);
    n.ok(Command::EndRound {
        round: 3,
        time: Some("0:10".into()),
        reason: Some("cut".into()),
    });
    let td = n.try_(Command::Result(result(
        "technical_decision",
        RED,
        None,
        None,
    )));
    assert!(conflict(td).contains("round 3"));
}

#[test]
fn finding_9_the_clock_pauses_resumes_and_rests() {
    let mut n = Night::new(3);
    n.ok(Command::StartRound { round: 1 });
    n.wait(90);
    assert_eq!(n.bout.elapsed_at(n.now), 90_000);
    n.ok(Command::Pause {
        reason: "doctor check".into(),
    });
    n.wait(120);
    assert_eq!(n.bout.elapsed_at(n.now), 90_000, "a paused clock stands");
    assert!(conflict(n.try_(Command::Pause {
        reason: "again".into()
    }))
    .contains("pause"));
    n.ok(Command::Resume);
    n.wait(30);
    assert_eq!(n.bout.elapsed_at(n.now), 120_000);
    n.ok(Command::SetClock {
        elapsed_s: 125,
        reason: "the arena clock reads 2:05".into(),
    });
    assert_eq!(n.bout.elapsed_at(n.now), 125_000);
    n.wait(1000);
    assert_eq!(n.bout.elapsed_at(n.now), 300_000, "never past the round");
    n.ok(Command::EndRound {
        round: 1,
        time: None,
        reason: None,
    });
    assert_eq!(n.bout.phase, Phase::BetweenRounds);
    assert!(conflict(n.try_(Command::StartRound { round: 3 })).contains("next round is 2"));
}

#[test]
fn rounds_are_three_or_five_and_run_in_order() {
    let mut n = Night::new(3);
    for r in 1..=3 {
        n.round(r);
    }
    assert!(conflict(n.try_(Command::StartRound { round: 4 })).contains("all 3 rounds"));
}

#[test]
fn officials_are_three_different_judges_and_a_referee() {
    let bout = Bout::new(3);
    let assign = |referee: &str, judges: &[&str]| {
        bout.decide(
            Command::AssignOfficials {
                referee: referee.into(),
                judges: judges.iter().map(|j| j.to_string()).collect(),
            },
            t0(),
        )
    };
    assert!(assign("R", &["A", "B"]).is_err());
    assert!(assign("R", &["A", "B", "C", "D"]).is_err());
    assert!(assign("R", &["A", "b", "B"]).is_err());
    assert!(assign("A", &["A", "B", "C"]).is_err());
    assert!(assign("", &["A", "B", "C"]).is_err());
    assert!(assign("R", &["A", "B", "C"]).is_ok());
    let started = Night::new(3);
    assert!(started
        .bout
        .decide(
            Command::AssignOfficials {
                referee: "R".into(),
                judges: vec!["A".into(), "B".into(), "C".into()]
            },
            t0()
        )
        .is_err());
}

#[test]
fn amendments_need_a_completed_fight_a_reason_and_a_possible_result() {
    let mut n = Night::new(3);
    n.ok(Command::StartRound { round: 1 });
    n.wait(161);
    n.ok(ko(1, "2:41"));
    let amend = |method: &str, winner, time: Option<&str>| Command::Amend {
        result: ResultInput {
            reason: None,
            ..result(method, winner, None, time)
        },
        reason: "failed drug test".into(),
    };
    assert!(
        n.try_(amend("ko", RED, Some("2:41"))).is_err(),
        "the same result"
    );
    assert!(
        n.try_(amend("ko", BLUE, Some("2:42"))).is_err(),
        "round 1 lasted 2:41"
    );
    assert!(
        n.try_(amend("unanimous_decision", BLUE, None)).is_err(),
        "not the distance"
    );
    let Transition::ResultAmended {
        before,
        after,
        reason,
    } = n.ok(amend("no_contest", None, None))
    else {
        panic!()
    };
    assert_eq!(
        (before.method, after.method),
        (ResultMethod::Ko, ResultMethod::NoContest)
    );
    assert_eq!((after.round, after.time.as_str()), (1, "2:41"));
    assert_eq!(after.reason.as_deref(), Some("failed drug test"));
    assert_eq!(reason, "failed drug test");
    assert_eq!(
        n.bout.result.as_ref().map(|r| r.method),
        Some(ResultMethod::NoContest)
    );
    let upcoming = Bout::new(3);
    assert!(upcoming
        .decide(amend("no_contest", None, None), t0())
        .is_err());
}

#[test]
fn a_started_fight_is_not_cancelled() {
    let bout = Bout::new(3);
    assert!(bout
        .decide(
            Command::Cancel {
                reason: "injury in camp".into()
            },
            t0()
        )
        .is_ok());
    let n = Night::new(3);
    assert!(n
        .bout
        .decide(Command::Cancel { reason: "x".into() }, t0())
        .is_err());
}

#[test]
fn the_timeline_folds_back_into_the_state_and_hides_judges_numbers() {
    let mut n = Night::new(3);
    let mut timeline: Vec<(Transition, DateTime<Utc>)> = Vec::new();
    let mut bout = Bout::new(3);
    for c in [
        Command::AssignOfficials {
            referee: "R".into(),
            judges: vec!["A".into(), "B".into(), "C".into()],
        },
        Command::Start {
            other_in_progress: None,
        },
        Command::StartRound { round: 1 },
    ] {
        let t = bout.decide(c, n.now).expect("ok");
        bout.apply(&t, n.now);
        timeline.push((t, n.now));
    }
    n.now += Duration::seconds(300);
    for c in [
        Command::EndRound {
            round: 1,
            time: None,
            reason: None,
        },
        Command::Score(Score {
            judge: "a".into(),
            round: 1,
            red: 10,
            blue: 9,
        }),
    ] {
        let t = bout.decide(c, n.now).expect("ok");
        bout.apply(&t, n.now);
        timeline.push((t, n.now));
    }
    let stored: Vec<(Transition, DateTime<Utc>)> = timeline
        .iter()
        .map(|(t, at)| {
            (
                Transition::from_stored(t.kind().as_str(), &t.data()).expect("round trip"),
                *at,
            )
        })
        .collect();
    let folded = Bout::fold(3, stored.iter().map(|(t, at)| (t, *at)));
    assert_eq!(folded, bout);
    let score = &timeline[4].0;
    assert_eq!(
        score.public_data(false),
        serde_json::json!({ "judge": "A", "round": 1 })
    );
    assert_eq!(score.public_data(true)["red"], 10);
    // And the whole state survives a trip through JSON.
    let json = serde_json::to_value(&bout).expect("serializes");
    assert_eq!(
        serde_json::from_value::<Bout>(json).expect("deserializes"),
        bout
    );
}

#[test]
fn transition_kinds_are_the_vocabulary() {
    use crate::vocabulary::{TransitionKind, Vocabulary};
    let samples = [
        Transition::FightStarted {},
        Transition::RoundStarted { round: 1 },
        Transition::FightCancelled { reason: "x".into() },
    ];
    for t in samples {
        let json = serde_json::to_value(&t).expect("json");
        assert_eq!(
            TransitionKind::parse(json["kind"].as_str().expect("kind")),
            Some(t.kind())
        );
    }
}

#[test]
fn finding_9_cards_hidden_unless_open_and_no_projection_after_a_finish() {
    let mut n = Night::new(3);
    n.round(1);
    n.card("Sal D'Amato", &[(10, 9)]);
    n.card("Derek Cleary", &[(10, 9)]);
    n.card("Chris Lee", &[(9, 10)]);
    let public = n.bout.view(n.now, n.bout.cards_open(false));
    assert_eq!(
        (public.scorecards.is_none(), public.projected.is_none()),
        (true, true)
    );
    assert_eq!(public.scores_in, 3, "the count shows, the numbers do not");
    let open = n.bout.view(n.now, n.bout.cards_open(true));
    let projected = open.projected.expect("projected while in progress");
    assert_eq!(
        (projected.method, projected.winner),
        (ResultMethod::SplitDecision, RED)
    );
    n.ok(Command::StartRound { round: 2 });
    n.wait(30);
    n.ok(ko(2, "0:30"));
    let after = n.bout.view(n.now, n.bout.cards_open(false));
    assert!(
        after.projected.is_none(),
        "no projected decision after a KO"
    );
    assert_eq!(
        after.scorecards.map(|c| c.len()),
        Some(3),
        "the cards are read with the result"
    );
    assert_eq!(after.result.map(|r| r.method), Some(ResultMethod::Ko));
}

#[test]
fn the_clock_is_given_at_the_servers_time() {
    let mut n = Night::new(3);
    n.ok(Command::StartRound { round: 1 });
    n.wait(42);
    let clock = n.bout.view(n.now, false).clock;
    assert_eq!(
        (
            clock.round,
            clock.elapsed_s,
            clock.running,
            clock.between_rounds
        ),
        (1, 42.0, true, false)
    );
    assert_eq!(clock.server_time, n.now);
    n.wait(258);
    n.ok(Command::EndRound {
        round: 1,
        time: None,
        reason: None,
    });
    n.wait(20);
    let clock = n.bout.view(n.now, false).clock;
    assert_eq!(
        (clock.running, clock.between_rounds, clock.rest_elapsed_s),
        (false, true, Some(20.0))
    );
}

#[test]
fn times_are_digits_within_the_round() {
    for bad in [
        "0:-5", "2:-1", "+1:05", "1:5", "5:01", "10:00", "a:bc", "1:05:00", "",
    ] {
        assert!(result::parse_time(bad).is_err(), "{bad}");
    }
    assert_eq!(result::parse_time("0:00"), Ok(0));
    assert_eq!(result::parse_time("05:00"), Ok(300));
    assert_eq!(result::parse_time("2:41"), Ok(161));
}

#[test]
fn past_the_threshold_an_accidental_foul_is_for_the_cards_in_any_phase() {
    let mut n = Night::new(3);
    n.round(1);
    n.round(2);
    n.ok(Command::StartRound { round: 3 });
    n.wait(60);
    n.foul(Winner::Red, 0, false);
    let mut nc = result("no_contest", None, None, None);
    nc.foul = Some("accidental eye poke".into());
    assert!(conflict(n.try_(Command::Result(nc.clone()))).contains("goes to the cards"));
    // Without a foul named, a no contest stays possible (an overturn, say).
    nc.foul = None;
    nc.reason = Some("the cage door broke".into());
    assert!(n.try_(Command::Result(nc)).is_ok());
}

#[test]
fn a_paused_round_ends_only_by_a_stoppage_or_a_dq_and_a_stopped_round_by_a_tko() {
    let mut n = Night::new(3);
    n.ok(Command::StartRound { round: 1 });
    n.wait(100);
    n.ok(Command::Pause {
        reason: "doctor checks the cut".into(),
    });
    assert!(conflict(n.try_(ko(1, "1:40"))).contains("paused"));
    let mut tko = result("tko", RED, None, Some("1:40"));
    tko.stoppage = Some(Stoppage::Doctor);
    assert!(n
        .clone_bout()
        .decide(Command::Result(tko.clone()), n.now)
        .is_ok());
    // Ended early for the cut and not resumed: a doctor's TKO at that time.
    n.ok(Command::EndRound {
        round: 1,
        time: Some("1:40".into()),
        reason: Some("doctor check".into()),
    });
    tko.time = None;
    let Transition::Result(r) = n.ok(Command::Result(tko)) else {
        panic!()
    };
    assert_eq!((r.round, r.time.as_str()), (1, "1:40"));
}

#[test]
fn an_amended_finish_is_in_the_last_round_fought_and_a_dq_needs_its_fouls() {
    let mut n = Night::new(3);
    n.round(1);
    n.ok(Command::StartRound { round: 2 });
    n.wait(100);
    n.ok(ko(2, "1:40"));
    let amend = |method: &str, winner, round, time: &str| Command::Amend {
        result: result(method, winner, Some(round), Some(time)),
        reason: "replay review".into(),
    };
    match n.try_(amend("ko", BLUE, 1, "1:00")) {
        Err(FightError::Invalid { field: "round", .. }) => {}
        other => panic!("{other:?}"),
    }
    match n.try_(amend("ko", BLUE, 2, "1:41")) {
        Err(FightError::Invalid { field: "time", .. }) => {}
        other => panic!("{other:?}"),
    }
    let mut dq = result("dq", BLUE, Some(2), Some("1:40"));
    dq.foul = Some("illegal knee".into());
    let dq = Command::Amend {
        result: dq,
        reason: "replay review".into(),
    };
    assert!(conflict(n.try_(dq)).contains("dq needs"));
    assert!(n.try_(amend("ko", BLUE, 2, "1:40")).is_ok());
}

#[test]
fn every_kind_of_transition_folds_back_into_the_state() {
    let mut n = Night::new(3);
    let mut timeline: Vec<(Transition, DateTime<Utc>)> = Vec::new();
    let mut step = |n: &mut Night, c: Command, wait: i64| {
        n.wait(wait);
        let t = n.ok(c);
        timeline.push((t, n.now));
    };
    step(&mut n, Command::StartRound { round: 1 }, 0);
    step(
        &mut n,
        Command::Pause {
            reason: "foul".into(),
        },
        40,
    );
    step(
        &mut n,
        Command::Foul {
            corner: Winner::Red,
            round: 1,
            foul: "fence grab".into(),
            points: 1,
            intentional: true,
        },
        5,
    );
    step(&mut n, Command::Resume, 30);
    step(
        &mut n,
        Command::SetClock {
            elapsed_s: 60,
            reason: "arena".into(),
        },
        10,
    );
    step(
        &mut n,
        Command::Stats {
            round: 1,
            corner: Winner::Blue,
            counters: BTreeMap::from([
                ("strikes_landed".into(), 5),
                ("strikes_attempted".into(), 9),
                ("knockdowns".into(), 1),
            ]),
            reason: None,
        },
        1,
    );
    step(
        &mut n,
        Command::EndRound {
            round: 1,
            time: None,
            reason: None,
        },
        250,
    );
    for judge in ["Sal D'Amato", "Derek Cleary", "Chris Lee"] {
        step(
            &mut n,
            Command::Score(Score {
                judge: judge.into(),
                round: 1,
                red: 10,
                blue: 9,
            }),
            1,
        );
    }
    step(&mut n, Command::StartRound { round: 2 }, 60);
    step(&mut n, ko(2, "0:30"), 31);
    step(
        &mut n,
        Command::Amend {
            result: result("no_contest", None, None, None),
            reason: "overturned".into(),
        },
        600,
    );
    let mut folded = Bout::new(3);
    let first = Night::new(3);
    folded.officials = first.bout.officials.clone();
    folded.status = first.bout.status;
    for (t, at) in &timeline {
        let stored = Transition::from_stored(t.kind().as_str(), &t.data()).expect("round trip");
        folded.apply(&stored, *at);
    }
    assert_eq!(folded, n.bout);
}

/// The refusals not met on the way above, each with what it says.
#[test]
fn every_refusal_says_what_is_wrong() {
    let field = |r: Result<Transition, FightError>| match r {
        Err(FightError::Invalid { field, .. }) => field,
        other => panic!("expected a bad field, got {other:?}"),
    };
    // Shapes.
    let mut n = Night::new(3);
    n.ok(Command::StartRound { round: 1 });
    n.wait(60);
    let mut r = result("ko", None, None, Some("1:00"));
    assert_eq!(field(n.try_(Command::Result(r.clone()))), "winner");
    r.winner = RED;
    r.stoppage = Some(Stoppage::Referee);
    assert_eq!(field(n.try_(Command::Result(r.clone()))), "stoppage");
    r.stoppage = None;
    r.foul = Some("eye poke".into());
    assert_eq!(field(n.try_(Command::Result(r.clone()))), "foul");
    r.foul = None;
    r.time = None;
    assert_eq!(
        field(n.try_(Command::Result(r))),
        "time",
        "a finish gives its time"
    );
    assert_eq!(
        field(n.try_(Command::Result(result("no_contest", None, None, None)))),
        "reason"
    );
    // Not now: a technical result in a running round, a dq before round 1.
    assert!(
        conflict(n.try_(Command::Result(result("technical_draw", None, None, None))))
            .contains("after a stoppage")
    );
    let fresh = Night::new(3);
    let mut dq = result("dq", RED, None, None);
    dq.foul = Some("spitting".into());
    let mut fouled = fresh.bout.clone();
    fouled.fouls.push(Foul {
        corner: Winner::Blue,
        round: 0,
        foul: "spitting".into(),
        points: 0,
        intentional: true,
    });
    assert!(conflict(fouled.decide(Command::Result(dq), fresh.now)).contains("cannot disqualify"));
    // A no contest before round 1 is at 1:00 of nothing: round 1, 0:00.
    let mut nc = result("no_contest", None, None, None);
    nc.reason = Some("a fighter collapsed in the cage before the bell".into());
    let Ok(Transition::Result(r)) = fresh.bout.decide(Command::Result(nc), fresh.now) else {
        panic!()
    };
    assert_eq!((r.round, r.time.as_str()), (1, "0:00"));
    // The clock, the round, the points, the state.
    assert_eq!(
        field(n.try_(Command::SetClock {
            elapsed_s: 301,
            reason: "x".into()
        })),
        "elapsed"
    );
    assert!(conflict(n.try_(Command::EndRound {
        round: 2,
        time: None,
        reason: None
    }))
    .contains("round 1 is the one on"));
    let foul = |points| Command::Foul {
        corner: Winner::Red,
        round: 1,
        foul: "fence grab".into(),
        points,
        intentional: false,
    };
    assert_eq!(field(n.try_(foul(3))), "points");
    assert!(conflict(n.try_(Command::Start {
        other_in_progress: None
    }))
    .contains("in_progress"));
    let upcoming = Bout::new(3);
    assert!(
        conflict(upcoming.decide(Command::Pause { reason: "x".into() }, t0())).contains("upcoming")
    );
    // Knockdowns come from strikes that landed.
    let kd = Command::Stats {
        round: 1,
        corner: Winner::Red,
        counters: BTreeMap::from([("knockdowns".into(), 1)]),
        reason: None,
    };
    assert_eq!(field(n.try_(kd)), "stats");
    // After the last horn: nothing to pause, the cards decide; a decision's round is the last.
    let mut n = Night::new(3);
    for round in 1..=3 {
        n.round(round);
    }
    assert!(conflict(n.try_(Command::Pause { reason: "x".into() })).contains("the cards decide"));
    for judge in ["Sal D'Amato", "Derek Cleary", "Chris Lee"] {
        n.card(judge, &[(10, 9), (10, 9), (10, 9)]);
    }
    assert_eq!(
        field(n.try_(Command::Result(result(
            "unanimous_decision",
            RED,
            Some(2),
            None
        )))),
        "round"
    );
    n.ok(Command::Result(result(
        "unanimous_decision",
        RED,
        None,
        None,
    )));
    // After the result, stats are corrections and need a reason.
    let late = Command::Stats {
        round: 1,
        corner: Winner::Red,
        counters: BTreeMap::from([("strikes_attempted".into(), 40)]),
        reason: None,
    };
    assert!(conflict(n.try_(late)).contains("needs a reason"));
    let corrected = Command::Stats {
        round: 1,
        corner: Winner::Red,
        counters: BTreeMap::from([("strikes_attempted".into(), 40)]),
        reason: Some("the broadcast's count, checked".into()),
    };
    assert!(n.try_(corrected).is_ok(), "a correction with its reason");
    // An amendment of a decision stays with the cards, or names its time.
    let amend = |result| Command::Amend {
        result,
        reason: "scoring review".into(),
    };
    assert!(matches!(
        n.try_(amend(result("split_decision", RED, None, None))),
        Err(FightError::ContradictsScorecards(_))
    ));
    assert_eq!(field(n.try_(amend(result("ko", RED, None, None)))), "time");
    assert!(n.try_(amend(result("ko", RED, None, Some("4:59")))).is_ok());
}
