//! The measured throughput curve: jobs completed per second at each replica count, learnt from
//! saturated steady windows, and the knee where adding replicas stopped paying.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// Weight of the newest sample of a replica count in its running average.
const SMOOTHING: f64 = 0.5;

/// One replica count's measured completions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Jobs completed per second by the whole fleet while work was waiting.
    pub completions_per_sec: f64,
    /// When it was last measured.
    pub measured_at: DateTime<Utc>,
}

/// Where the curve flattens: going from `below` to `above` replicas raised completions by
/// `gain` of what that many average replicas at `below` complete.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knee {
    /// The last count worth its replicas.
    pub below: u32,
    /// The count above it that added too little.
    pub above: u32,
    /// The added replicas' completions as a share of an average replica's at `below`.
    pub gain: f64,
}

/// Completions per second by replica count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThroughputCurve {
    points: BTreeMap<u32, CurvePoint>,
}

impl ThroughputCurve {
    /// Adds a measurement of `completions_per_sec` at `replicas` (a running average per count).
    pub fn observe(&mut self, replicas: u32, completions_per_sec: f64, at: DateTime<Utc>) {
        if replicas == 0 || !completions_per_sec.is_finite() || completions_per_sec <= 0.0 {
            return;
        }
        let smoothed = match self.points.get(&replicas) {
            Some(old) => {
                old.completions_per_sec
                    + SMOOTHING * (completions_per_sec - old.completions_per_sec)
            }
            None => completions_per_sec,
        };
        self.points.insert(
            replicas,
            CurvePoint {
                completions_per_sec: smoothed,
                measured_at: at,
            },
        );
    }

    /// The points measured after `since`, by replica count.
    pub fn fresh(&self, since: DateTime<Utc>) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.points
            .iter()
            .filter(move |(_, p)| p.measured_at > since)
            .map(|(n, p)| (*n, p.completions_per_sec))
    }

    /// The first pair of successive fresh counts whose added replicas completed less than
    /// `min_gain` of an average replica's share; `None` when the curve still climbs.
    pub fn knee(&self, since: DateTime<Utc>, min_gain: f64) -> Option<Knee> {
        let points: Vec<(u32, f64)> = self.fresh(since).collect();
        points.windows(2).find_map(|pair| {
            let [(below, low), (above, high)] = [pair[0], pair[1]];
            let per_replica = low / f64::from(below);
            let gain = (high - low) / (f64::from(above - below) * per_replica);
            (gain < min_gain).then_some(Knee { below, above, gain })
        })
    }

    /// Replicas the curve says complete `jobs_per_sec`: interpolated between the two measured
    /// counts around it (the curve is concave, so this errs high), in proportion below the
    /// lowest point and beyond the highest one; `None` when nothing was measured.
    pub fn replicas_for(&self, jobs_per_sec: f64) -> Option<f64> {
        let mut below: Option<(u32, f64)> = None;
        for (&n, point) in &self.points {
            let x = point.completions_per_sec;
            if x >= jobs_per_sec {
                return Some(match below {
                    Some((m, low)) if x > low => {
                        f64::from(m) + (jobs_per_sec - low) / (x - low) * f64::from(n - m)
                    }
                    _ => jobs_per_sec * f64::from(n) / x,
                });
            }
            below = Some((n, x));
        }
        below.map(|(n, x)| jobs_per_sec * f64::from(n) / x)
    }

    /// The fresh curve as one readable line: `4: 200/s, 8: 390/s`.
    pub fn describe(&self, since: DateTime<Utc>) -> String {
        let points: Vec<String> = self
            .fresh(since)
            .map(|(n, t)| format!("{n}: {t:.0}/s"))
            .collect();
        points.join(", ")
    }
}
