//! The presets over the four traces, a simulated day each, at 20 and at 1,000 replicas, held to
//! issue 17's bar: against keda-hpa, coin spends at most a third of its seconds above the SLO
//! (none where keda-hpa has none) on at most 10 % more replica-seconds; against static-max, at
//! least 40 % fewer replica-seconds.

use std::time::{Duration, Instant};

use crate::{
    decide::Preset,
    simulate::{
        fleet::Fleet,
        report::Report,
        run::{Scenario, default_configured, run},
        trace::{Shape, Trace},
    },
};

/// A fleet whose replicas do 20 jobs/s alone, start in 20 s, and share a database: 1,000 of
/// them complete less than 600 (the USL peak is near 700, the 10 % knee near 600).
const FLEET: Fleet = Fleet {
    per_replica: 20.0,
    alpha: 0.001,
    beta: 2e-6,
    startup_secs: 20,
};

/// Runs every preset on `shape` between `base` and `peak` jobs/s with at most `max` replicas.
fn runs(shape: Shape, base: f64, peak: f64, max: u32) -> Vec<(Preset, Report)> {
    Preset::ALL
        .into_iter()
        .map(|preset| {
            let scenario = Scenario {
                trace: Trace {
                    shape,
                    base,
                    peak,
                    compression: 1.0,
                },
                fleet: FLEET,
                policy: preset.policy(&default_configured(max)),
                interval_secs: 5,
                slo_secs: 30.0,
            };
            let started = Instant::now();
            let report = run(&scenario);
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(1),
                "{} {} at {max}: {took:?}",
                shape.as_str(),
                preset.as_str()
            );
            println!(
                "| {} | {max} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} |",
                shape.as_str(),
                preset.as_str(),
                report.p50_latency_secs,
                report.p99_latency_secs,
                report.max_latency_secs,
                report.secs_above_slo,
                report.replica_secs,
                report.max_replicas,
                report.direction_changes
            );
            (preset, report)
        })
        .collect()
}

/// The bar, as failures.
fn bar(shape: Shape, max: u32, reports: &[(Preset, Report)]) -> Vec<String> {
    let of = |p: Preset| reports.iter().find(|(q, _)| *q == p).map(|(_, r)| *r);
    let (Some(coin), Some(keda), Some(fixed)) =
        (of(Preset::Coin), of(Preset::KedaHpa), of(Preset::StaticMax))
    else {
        return vec!["a preset did not run".to_owned()];
    };
    let name = format!("{} at {max}", shape.as_str());
    let mut failures = Vec::new();
    if coin.secs_above_slo * 3 > keda.secs_above_slo {
        failures.push(format!(
            "{name}: coin {} s above the SLO, keda-hpa {}",
            coin.secs_above_slo, keda.secs_above_slo
        ));
    }
    if coin.replica_secs as f64 > keda.replica_secs as f64 * 1.1 {
        failures.push(format!(
            "{name}: coin {} replica-seconds, keda-hpa {}",
            coin.replica_secs, keda.replica_secs
        ));
    }
    if coin.replica_secs as f64 > fixed.replica_secs as f64 * 0.6 {
        failures.push(format!(
            "{name}: coin {} replica-seconds, static-max {}",
            coin.replica_secs, fixed.replica_secs
        ));
    }
    failures
}

fn meets_the_bar(base: f64, peak: f64, max: u32) {
    let failures: Vec<String> = Shape::ALL
        .into_iter()
        .flat_map(|shape| bar(shape, max, &runs(shape, base, peak, max)))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn coin_meets_the_bar_over_a_day_at_twenty_replicas() {
    meets_the_bar(20.0, 300.0, 20);
}

#[test]
fn coin_meets_the_bar_over_a_day_at_a_thousand_replicas() {
    meets_the_bar(200.0, 4_500.0, 1_000);
}
