//! What a simulated run measured: the figures the bar compares.

/// One run's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Report {
    /// Median queue latency (age of the oldest waiting job) over the seconds, s.
    pub p50_latency_secs: f64,
    /// 99th percentile of it, s.
    pub p99_latency_secs: f64,
    /// Its maximum, s.
    pub max_latency_secs: f64,
    /// Seconds whose latency was above the SLO.
    pub secs_above_slo: u64,
    /// Replicas provisioned, summed over the seconds (what the fleet costs).
    pub replica_secs: u64,
    /// Most replicas provisioned at once.
    pub max_replicas: u32,
    /// Times the scaling direction reversed (up after down or down after up).
    pub direction_changes: u32,
}

/// Collects a run second by second.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    latencies: Vec<f64>,
    slo_secs: f64,
    report: Report,
    last_direction: Option<bool>,
}

impl Recorder {
    /// A recorder counting seconds above `slo_secs`.
    pub fn new(slo_secs: f64, seconds: u64) -> Self {
        Self {
            latencies: Vec::with_capacity(usize::try_from(seconds).unwrap_or(0)),
            slo_secs,
            ..Self::default()
        }
    }

    /// One second: its latency and the replicas provisioned in it.
    pub fn second(&mut self, latency_secs: f64, replicas: u32) {
        self.latencies.push(latency_secs);
        let r = &mut self.report;
        r.secs_above_slo += u64::from(latency_secs > self.slo_secs);
        r.replica_secs += u64::from(replicas);
        r.max_replicas = r.max_replicas.max(replicas);
    }

    /// A scaling step, up (`true`) or down.
    pub fn scaled(&mut self, up: bool) {
        if self.last_direction.is_some_and(|last| last != up) {
            self.report.direction_changes += 1;
        }
        self.last_direction = Some(up);
    }

    /// The figures.
    pub fn finish(mut self) -> Report {
        self.latencies.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let last = self.latencies.len().saturating_sub(1);
            self.latencies
                .get(((last as f64) * q).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        Report {
            p50_latency_secs: at(0.5),
            p99_latency_secs: at(0.99),
            max_latency_secs: at(1.0),
            ..self.report
        }
    }
}
