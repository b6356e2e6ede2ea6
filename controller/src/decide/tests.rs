//! Table tests of the decision: each row is one situation and the count and reason expected.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::*;
use crate::measure::{
    DatabaseMetrics, HostMetrics, QueueStats, QueueTotals, Rates, ScheduledWork, Snapshot,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 14, 12, 0, 0)
        .single()
        .expect("valid date")
}

fn ago(secs: i64) -> DateTime<Utc> {
    now() - TimeDelta::seconds(secs)
}

fn host(cpu: f64, memory: f64) -> HostMetrics {
    HostMetrics {
        cpu_ratio: cpu,
        memory_total_bytes: 1_000,
        memory_available_bytes: ((1.0 - memory) * 1_000.0) as u64,
        disk_total_bytes: 1_000,
        disk_free_bytes: 500,
        load_averages: [0.0; 3],
    }
}

fn database(connections: i64) -> DatabaseMetrics {
    DatabaseMetrics {
        active_connections: connections / 2,
        total_connections: connections,
        max_connections: 100,
        transactions_committed: 0,
        cache_hit_ratio: 1.0,
    }
}

fn snapshot(backlog: u64, current: u32) -> Snapshot {
    let mut by_queue = BTreeMap::new();
    by_queue.insert(
        "goodwill".to_owned(),
        QueueStats {
            backlog,
            ..QueueStats::default()
        },
    );
    Snapshot {
        at: now(),
        queues: Some(QueueTotals {
            measured_at: now(),
            by_queue,
        }),
        rates: None,
        host: Some(host(0.2, 0.3)),
        database: Some(database(10)),
        current_replicas: Some(current),
        scheduled: None,
    }
}

fn rates(enqueue: f64, completion: f64) -> Option<Rates> {
    Some(Rates {
        window_secs: 5.0,
        enqueue_per_sec: enqueue,
        completion_per_sec: completion,
        saturated: true,
    })
}

/// A window in which every arrival was taken at once: nothing waited.
fn idle(jobs_per_sec: f64) -> Option<Rates> {
    rates(jobs_per_sec, jobs_per_sec).map(|r| Rates {
        saturated: false,
        ..r
    })
}

struct Case {
    name: &'static str,
    snapshot: Snapshot,
    history: History,
    policy: Policy,
    desired: u32,
    reason: Reason,
}

fn case(name: &'static str, snapshot: Snapshot, desired: u32, reason: Reason) -> Case {
    Case {
        name,
        snapshot,
        history: History::warmed_up(),
        policy: Policy::default(),
        desired,
        reason,
    }
}

impl Case {
    fn history(mut self, history: History) -> Self {
        self.history = history;
        self
    }

    fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }
}

/// Adds a paused queue holding `backlog` jobs.
fn paused(backlog: u64) -> impl FnOnce(&mut Snapshot) {
    move |s| {
        if let Some(q) = s.queues.as_mut() {
            q.by_queue.insert(
                "votes".to_owned(),
                QueueStats {
                    backlog,
                    paused: true,
                    latency_secs: 30.0,
                    ..QueueStats::default()
                },
            );
        }
    }
}

/// Sets the goodwill queue's figures.
fn goodwill(change: impl FnOnce(&mut QueueStats)) -> impl FnOnce(&mut Snapshot) {
    move |s| {
        if let Some(q) = s
            .queues
            .as_mut()
            .and_then(|q| q.by_queue.get_mut("goodwill"))
        {
            change(q);
        }
    }
}

/// The default policy with a latency SLO of `secs` for every queue.
fn slo(secs: u64) -> Policy {
    Policy {
        latency_slo: LatencySlo::every_queue(Duration::from_secs(secs)),
        max_replicas: 50,
        ..Policy::default()
    }
}

/// The default policy with knee detection at 10 %.
fn knee() -> Policy {
    Policy {
        min_marginal_gain: 0.1,
        max_replicas: 50,
        ..Policy::default()
    }
}

/// The default policy allowed to scale to zero, reading `signal`.
fn to_zero(signal: Signal) -> Policy {
    Policy {
        min_replicas: 0,
        signal,
        ..Policy::default()
    }
}

fn with(snapshot: Snapshot, change: impl FnOnce(&mut Snapshot)) -> Snapshot {
    let mut snapshot = snapshot;
    change(&mut snapshot);
    snapshot
}

#[test]
fn every_situation_gets_the_expected_replicas_and_reason() {
    let cases = [
        case("a backlog at target keeps the count", snapshot(300, 3), 3, Reason::WithinTolerance),
        case("a backlog within the 10 % tolerance keeps the count", snapshot(320, 3), 3, Reason::WithinTolerance),
        case("a backlog of 500 at target 100 asks for 5 replicas", snapshot(500, 3), 5, Reason::DesiredWithinRange),
        case("an empty queue scales down to the minimum after the window", snapshot(0, 4), 1, Reason::TooFewReplicas),
        case("a huge backlog from 1 replica is capped at +4 by the scale-up policy", snapshot(5_000, 1), 5, Reason::ScaleUpLimit),
        case("a huge backlog from 8 replicas may double, then meets the maximum", snapshot(5_000, 8), 10, Reason::TooManyReplicas),
        case("a huge backlog from 3 replicas may add 4, more than doubling, in one period", snapshot(5_000, 3), 7, Reason::ScaleUpLimit)
            .policy(Policy { max_replicas: 50, ..Policy::default() }),
        case("replicas added earlier in the period count against the policy", snapshot(900, 5), 5, Reason::ScaleUpLimit)
            .history(History::warmed_up().with_scale_up(ago(10), 4)),
        case("scale-ups older than the period no longer count", snapshot(900, 5), 9, Reason::DesiredWithinRange)
            .history(History::warmed_up().with_scale_up(ago(20), 4)),
        case(
            "a higher recommendation within the window holds a scale-down",
            snapshot(100, 6),
            6,
            Reason::ScaleDownStabilized,
        )
        .history(History::warmed_up().with_recommendation(ago(100), 8)),
        case(
            "the highest recommendation in the window sets how far it scales down",
            snapshot(100, 6),
            4,
            Reason::ScaleDownStabilized,
        )
        .history(History::warmed_up().with_recommendation(ago(100), 4)),
        case(
            "recommendations older than the window are forgotten",
            snapshot(100, 6),
            1,
            Reason::DesiredWithinRange,
        )
        .history(History::warmed_up().with_recommendation(ago(400), 8)),
        case(
            "no scale-down before the controller has watched a full window",
            snapshot(0, 4),
            4,
            Reason::ScaleDownStabilized,
        )
        .history(History::new(ago(30))),
        case("below the minimum it scales up even with no backlog", snapshot(0, 0), 1, Reason::TooFewReplicas),
        case(
            "measured throughput sizes for arrivals plus draining within the target",
            // 60 jobs/s arrive, 6000 waiting to drain in 60 s: 160 jobs/s at 40 per replica.
            with(snapshot(6_000, 4), |s| s.rates = rates(60.0, 160.0)),
            4,
            Reason::WithinTolerance,
        )
        .history(History::warmed_up().with_throughput_per_replica(40.0)),
        case(
            "measured throughput asks for fewer replicas than the backlog rule when workers are fast",
            with(snapshot(3_000, 2), |s| s.rates = rates(10.0, 500.0)),
            1,
            Reason::DesiredWithinRange,
        )
        .history(History::warmed_up().with_throughput_per_replica(250.0)),
        case(
            "measured throughput that cannot keep up with arrivals scales up",
            with(snapshot(0, 2), |s| s.rates = rates(400.0, 200.0)),
            4,
            Reason::DesiredWithinRange,
        )
        .history(History::warmed_up().with_throughput_per_replica(100.0)),
        case(
            "a busy CPU refuses a scale-up",
            with(snapshot(1_000, 2), |s| s.host = Some(host(0.97, 0.3))),
            2,
            Reason::HostSaturated,
        ),
        case(
            "full memory refuses a scale-up",
            with(snapshot(1_000, 2), |s| s.host = Some(host(0.2, 0.95))),
            2,
            Reason::HostSaturated,
        ),
        case(
            "Postgres near max_connections refuses a scale-up",
            with(snapshot(1_000, 2), |s| s.database = Some(database(95))),
            2,
            Reason::DatabaseSaturated,
        ),
        case(
            "a saturated host still allows a scale-down",
            with(snapshot(0, 4), |s| s.host = Some(host(0.99, 0.3))),
            1,
            Reason::TooFewReplicas,
        ),
        case(
            "a saturated host still lets the count reach the minimum",
            with(snapshot(1_000, 0), |s| s.host = Some(host(0.99, 0.3))),
            1,
            Reason::ScaleUpLimit,
        )
        .policy(Policy { scale_up_pods: 1, ..Policy::default() }),
        case(
            "missing queue metrics hold instead of scaling down",
            with(snapshot(0, 4), |s| s.queues = None),
            4,
            Reason::MetricsMissing,
        ),
        case(
            "stale queue metrics hold instead of scaling down",
            with(snapshot(0, 4), |s| {
                if let Some(q) = s.queues.as_mut() {
                    q.measured_at = ago(60);
                }
            }),
            4,
            Reason::MetricsStale,
        ),
        case(
            "missing queue metrics still respect the maximum",
            with(snapshot(0, 14), |s| s.queues = None),
            10,
            Reason::TooManyReplicas,
        ),
        case("a paused queue's backlog is not scaled for", with(snapshot(300, 3), paused(5_000)), 3, Reason::QueuePaused),
        case("a paused queue's backlog does not keep replicas up either", with(snapshot(0, 4), paused(5_000)), 1, Reason::QueuePaused),
        case("a paused queue without backlog changes nothing", with(snapshot(500, 3), paused(0)), 5, Reason::DesiredWithinRange),
        case("the other queues' backlog still scales up beside a paused one", with(snapshot(500, 3), paused(5_000)), 5, Reason::DesiredWithinRange),
        case(
            "an unreachable scaler recommends but holds",
            with(snapshot(500, 1), |s| s.current_replicas = None),
            5,
            Reason::ScalerUnavailable,
        ),
    ];
    check(&cases);
}

#[test]
fn every_rule_of_the_presets_gets_its_reason() {
    // 60 jobs/s arrive and 3,000 wait, 40 per replica: the drain target wants 3, draining
    // within half the 30 s SLO wants 7 (12 when the oldest job is already 60 s old).
    let busy = |s: &mut Snapshot| s.rates = rates(60.0, 240.0);
    let measured = History::warmed_up().with_throughput_per_replica(40.0);
    let votes_only = Policy {
        latency_slo: LatencySlo::none().with_queue("votes", Duration::from_secs(5)),
        ..Policy::default()
    };
    let late = goodwill(|q| q.latency_secs = 60.0);
    let mut cases = vec![
        case(
            "the latency SLO sizes on the predicted wait, not only on depth",
            with(snapshot(3_000, 5), busy),
            7,
            Reason::LatencySlo,
        )
        .policy(slo(30))
        .history(measured.clone()),
        case(
            "a queue already past its SLO drains sooner",
            with(with(snapshot(3_000, 6), busy), late),
            12,
            Reason::LatencySlo,
        )
        .policy(slo(30))
        .history(measured.clone()),
        case(
            "a queue without an SLO is sized on depth",
            with(snapshot(3_000, 6), busy),
            3,
            Reason::DesiredWithinRange,
        )
        .policy(votes_only)
        .history(measured),
        case(
            "unmeasured, a queue 3x over its SLO triples the count",
            with(snapshot(50, 2), goodwill(|q| q.latency_secs = 90.0)),
            6,
            Reason::LatencySlo,
        )
        .policy(slo(30)),
        case(
            "unmeasured, a saturated window's completions are the replicas' capacity",
            with(snapshot(0, 10), |s| s.rates = rates(400.0, 400.0)),
            10,
            Reason::WithinTolerance,
        )
        .policy(slo(5)),
        case(
            "an idle fleet's completions are what arrived, not its capacity: no count is kept on them",
            with(snapshot(0, 10), |s| s.rates = idle(400.0)),
            1,
            Reason::TooFewReplicas,
        )
        .policy(slo(5)),
    ];
    // The curve: 400 jobs/s at 4 replicas, then `high` at 8, measured `at` seconds ago.
    let knees = [
        (
            "the last replicas added gave 5 % of a replica's share: no more",
            8,
            30,
            420.0,
            8,
            Reason::NoMarginalGain,
        ),
        (
            "below the knee it still scales up to the knee",
            2,
            30,
            420.0,
            4,
            Reason::NoMarginalGain,
        ),
        (
            "a knee older than the re-probe window is probed again",
            8,
            400,
            420.0,
            16,
            Reason::ScaleUpLimit,
        ),
        (
            "a curve that still climbs does not hold",
            8,
            30,
            780.0,
            16,
            Reason::ScaleUpLimit,
        ),
    ];
    for (name, current, at, high, desired, reason) in knees {
        let curve = History::warmed_up()
            .with_curve_point(4, 400.0, ago(at))
            .with_curve_point(8, high, ago(at));
        cases.push(
            case(name, snapshot(5_000, current), desired, reason)
                .policy(knee())
                .history(curve),
        );
    }
    let in_flight = |n| goodwill(move |q| q.inflight = Some(n));
    let zeros = [
        (
            "ready jobs activate a fleet scaled to zero",
            snapshot(300, 0),
            Signal::Pending,
            3,
            Reason::Activation,
        ),
        (
            "jobs in flight keep one replica",
            with(snapshot(0, 2), in_flight(5)),
            Signal::Pending,
            1,
            Reason::WorkInFlight,
        ),
        (
            "nothing ready, due or in flight scales to zero",
            with(snapshot(0, 2), in_flight(0)),
            Signal::Pending,
            0,
            Reason::DesiredWithinRange,
        ),
        (
            "the ready-only signal reads jobs in flight as idle",
            with(snapshot(0, 2), in_flight(5)),
            Signal::ReadyOnly,
            0,
            Reason::DesiredWithinRange,
        ),
        (
            "the ready-only signal does not see due scheduled jobs",
            with(snapshot(300, 0), goodwill(|q| q.ready = Some(0))),
            Signal::ReadyOnly,
            0,
            Reason::WithinTolerance,
        ),
    ];
    for (name, snapshot, signal, desired, reason) in zeros {
        cases.push(case(name, snapshot, desired, reason).policy(to_zero(signal)));
    }
    let keda = Preset::KedaHpa.policy(&Policy::default());
    for (name, evaluated, desired, reason) in [
        (
            "within the evaluation period it holds",
            10,
            3,
            Reason::BetweenEvaluations,
        ),
        (
            "after the evaluation period it evaluates",
            30,
            5,
            Reason::DesiredWithinRange,
        ),
    ] {
        let history = History::warmed_up().with_last_evaluated(ago(evaluated));
        cases.push(
            case(name, snapshot(500, 3), desired, reason)
                .policy(keda.clone())
                .history(history),
        );
    }
    cases.extend([
        case(
            "keda-hpa sizes on the ready list, not on measured throughput",
            with(snapshot(3_000, 2), |s| s.rates = rates(10.0, 500.0)),
            6,
            Reason::ScaleUpLimit,
        )
        .policy(keda)
        .history(History::warmed_up().with_throughput_per_replica(250.0)),
        case(
            "static-max keeps the maximum on an empty queue",
            snapshot(0, 10),
            10,
            Reason::TooFewReplicas,
        )
        .policy(Preset::StaticMax.policy(&Policy::default())),
    ]);
    check(&cases);
}

/// Adds a distribution that runs in `in_secs` seconds and enqueues `jobs` chunk jobs.
fn distribution(in_secs: i64, jobs: u64) -> impl FnOnce(&mut Snapshot) {
    move |s| {
        s.scheduled = Some(vec![ScheduledWork {
            schedule: "distribution",
            queue: "distribution",
            at: now() + TimeDelta::seconds(in_secs),
            items: jobs * 1_000,
            jobs,
        }]);
    }
}

#[test]
fn known_scheduled_work_is_scaled_for_within_its_lead_window() {
    let soon = |in_secs, jobs, backlog, current| {
        with(snapshot(backlog, current), distribution(in_secs, jobs))
    };
    let no_lead = Policy {
        prescale_lead: Duration::ZERO,
        ..Policy::default()
    };
    let paused_distribution = |s: &mut Snapshot| {
        if let Some(q) = s.queues.as_mut() {
            let paused = QueueStats {
                paused: true,
                ..QueueStats::default()
            };
            q.by_queue.insert("distribution".to_owned(), paused);
        }
    };
    // (name, run in secs, its jobs, backlog, current, desired, reason) at the default policy.
    #[rustfmt::skip]
    let rows = [
        ("500 jobs in 30 s, 100 a replica: 5", 30, 500, 100, 1, 5, Reason::Scheduled),
        ("at the run's instant it still counts", 0, 300, 100, 1, 3, Reason::Scheduled),
        ("held at the floor it set", 20, 500, 100, 5, 5, Reason::Scheduled),
        ("61 s before the run: outside the lead", 61, 500, 100, 1, 1, Reason::WithinTolerance),
        ("a run already past is not scaled for", -1, 500, 100, 1, 1, Reason::WithinTolerance),
        ("a larger backlog outweighs the floor", 30, 300, 900, 1, 5, Reason::ScaleUpLimit),
        ("the scale-up policy still paces it", 30, 5_000, 100, 1, 5, Reason::ScaleUpLimit),
        ("never above the maximum", 30, 5_000, 100, 8, 10, Reason::TooManyReplicas),
    ];
    let mut cases: Vec<Case> = rows
        .into_iter()
        .map(|(name, at, jobs, backlog, current, desired, reason)| {
            case(name, soon(at, jobs, backlog, current), desired, reason)
        })
        .collect();
    let measured = || History::warmed_up().with_throughput_per_replica(1.0);
    let slo_40 = Policy {
        latency_slo: LatencySlo::every_queue(Duration::from_secs(40)),
        max_replicas: 50,
        ..Policy::default()
    };
    let hot = |s: &mut Snapshot| s.host = Some(host(0.97, 0.3));
    let busy_db = |s: &mut Snapshot| s.database = Some(database(95));
    let keda = Preset::KedaHpa.policy(&Policy::default());
    let held = Reason::WithinTolerance;
    let soon_500 = || soon(30, 500, 100, 1);
    // 1 job/s a replica drains 60 jobs in the 60 s drain target: 300 jobs need 5. Half the
    // 40 s SLO at 1 job/s: 300 jobs need 15, of which the policy allows +4 now.
    #[rustfmt::skip]
    let more = [
        case("measured throughput", soon(30, 300, 100, 1), 5, Reason::Scheduled).history(measured()),
        case("the SLO drains sooner", soon(30, 300, 100, 1), 5, Reason::ScaleUpLimit)
            .policy(slo_40).history(measured()),
        case("a lead of 0 is off", soon_500(), 1, held).policy(no_lead),
        case("a hot host refuses it", with(soon_500(), hot), 1, Reason::HostSaturated),
        case("so does a busy Postgres", with(soon_500(), busy_db), 1, Reason::DatabaseSaturated),
        case("a paused queue's jobs wait", with(soon_500(), paused_distribution), 1, held),
        case("keda-hpa knows no schedule", soon_500(), 1, held).policy(keda),
        case("from zero, the schedule is the reason", soon(30, 300, 0, 0), 3, Reason::Scheduled)
            .policy(to_zero(Signal::Pending)),
    ];
    cases.extend(more);
    check(&cases);
}

#[test]
fn a_scheduled_floor_names_the_schedule_its_time_and_its_jobs() {
    let snapshot = with(snapshot(0, 1), distribution(45, 120));
    let decision = decide(&snapshot, &History::warmed_up(), &Policy::default(), now());
    assert_eq!(decision.reason, Reason::Scheduled);
    assert_eq!(decision.recommendation.scheduled, Some(2));
    let note = decision.notes.join("; ");
    for says in [
        "distribution",
        "2026-02-14T12:00:45Z",
        "in 45 s",
        "120 jobs",
        "2 replicas",
    ] {
        assert!(note.contains(says), "{says}: {note}");
    }
}

/// Decides every case and fails with the rows that did not give their count and reason.
fn check(cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let decision = decide(&case.snapshot, &case.history, &case.policy, now());
        if (decision.desired, decision.reason) != (case.desired, case.reason) {
            failures.push(format!(
                "{}: expected {} ({:?}), got {} ({:?}) {:?}",
                case.name,
                case.desired,
                case.reason,
                decision.desired,
                decision.reason,
                decision.notes
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_knee_writes_the_curve_in_the_notes() {
    let history = History::warmed_up()
        .with_curve_point(4, 400.0, ago(30))
        .with_curve_point(8, 420.0, ago(30));
    let notes = decide(&snapshot(5_000, 8), &history, &knee(), now())
        .notes
        .join("; ");
    assert!(
        notes.contains("completions by replicas 4: 400/s, 8: 420/s"),
        "{notes}"
    );
}

#[test]
fn history_learns_the_curve_from_live_replicas_and_skips_held_ticks() {
    let mut history = History::warmed_up();
    let previous = snapshot(500, 4);
    let starting = with(
        with(snapshot(400, 4), |s| s.rates = rates(0.0, 100.0)),
        goodwill(|q| q.live_workers = Some(2)),
    );
    history.observe(Some(&previous), &starting);
    assert_eq!(
        history.curve().fresh(ago(60)).count(),
        0,
        "two replicas still start"
    );
    let live = with(
        with(snapshot(400, 4), |s| s.rates = rates(0.0, 200.0)),
        goodwill(|q| q.live_workers = Some(4)),
    );
    history.observe(Some(&previous), &live);
    assert_eq!(
        history.curve().fresh(ago(60)).collect::<Vec<_>>(),
        vec![(4, 200.0)]
    );

    let policy = Preset::KedaHpa.policy(&Policy::default());
    let first = decide(&snapshot(500, 3), &history, &policy, now());
    history.record(&first, true, Duration::from_secs(300));
    let later = now() + TimeDelta::seconds(5);
    let held = decide(&snapshot(900, 5), &history, &policy, later);
    history.record(&held, false, Duration::from_secs(300));
    assert_eq!(held.reason, Reason::BetweenEvaluations);
    assert_eq!(history.last_evaluated(), Some(now()));
    assert_eq!(
        history.recommendations_since(ago(10)).collect::<Vec<_>>(),
        vec![5]
    );
}

#[test]
fn the_action_follows_the_direction_of_the_change() {
    let policy = Policy::default();
    let history = History::warmed_up();
    let up = decide(&snapshot(500, 1), &history, &policy, now());
    let down = decide(&snapshot(0, 3), &history, &policy, now());
    let hold = decide(&snapshot(300, 3), &history, &policy, now());
    assert_eq!(
        (up.action, down.action, hold.action),
        (Action::ScaleUp, Action::ScaleDown, Action::Hold)
    );
}

#[test]
fn a_guard_leaves_a_readable_note() {
    let snapshot = with(snapshot(1_000, 2), |s| s.host = Some(host(0.97, 0.3)));
    let decision = decide(&snapshot, &History::warmed_up(), &Policy::default(), now());
    assert!(
        decision
            .notes
            .iter()
            .any(|n| n.contains("host CPU at 97 %")),
        "{:?}",
        decision.notes
    );
}

#[test]
fn history_learns_throughput_only_from_saturated_steady_windows() {
    let mut history = History::warmed_up();
    let previous = snapshot(500, 2);
    let busy = with(snapshot(400, 2), |s| s.rates = rates(0.0, 100.0));
    history.observe(Some(&previous), &busy);
    assert_eq!(history.throughput_per_replica(), Some(50.0));

    let resized = with(snapshot(400, 4), |s| s.rates = rates(0.0, 400.0));
    history.observe(Some(&previous), &resized);
    assert_eq!(history.throughput_per_replica(), Some(50.0));

    let idle = with(snapshot(0, 2), |s| {
        s.rates = Some(Rates {
            saturated: false,
            ..rates(0.0, 10.0).expect("rates")
        })
    });
    history.observe(Some(&previous), &idle);
    assert_eq!(history.throughput_per_replica(), Some(50.0));
}

#[test]
fn history_forgets_what_is_older_than_it_keeps() {
    let mut history = History::warmed_up()
        .with_recommendation(ago(1_000), 9)
        .with_scale_up(ago(1_000), 3);
    let decision = decide(&snapshot(100, 1), &history, &Policy::default(), now());
    history.record(&decision, true, Duration::from_secs(300));
    assert_eq!(
        history
            .recommendations_since(ago(10_000))
            .collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(history.added_since(ago(10_000)), 0);
}
