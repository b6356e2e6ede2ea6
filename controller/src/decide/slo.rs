//! Latency SLOs per queue (`LATENCY_SLO_SECS`): how long a job may wait before a worker takes
//! it, as `30` (every queue), `goodwill=5,default=30` or `goodwill=5` (only that queue).

use std::{collections::BTreeMap, fmt, str::FromStr, time::Duration};

/// The longest a job of each queue should wait; queues without one are sized on depth only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencySlo {
    default: Option<Duration>,
    by_queue: BTreeMap<String, Duration>,
}

impl LatencySlo {
    /// No SLO for any queue (the latency rule is off).
    pub fn none() -> Self {
        Self::default()
    }

    /// The same SLO for every queue.
    pub fn every_queue(slo: Duration) -> Self {
        Self {
            default: Some(slo),
            by_queue: BTreeMap::new(),
        }
    }

    /// This SLO for `queue`, in addition to the others.
    pub fn with_queue(mut self, queue: &str, slo: Duration) -> Self {
        self.by_queue.insert(queue.to_owned(), slo);
        self
    }

    /// The SLO of `queue`: its own, else the default.
    pub fn for_queue(&self, queue: &str) -> Option<Duration> {
        self.by_queue.get(queue).copied().or(self.default)
    }

    /// Whether no queue has an SLO.
    pub fn is_none(&self) -> bool {
        self.default.is_none() && self.by_queue.is_empty()
    }

    /// The queues named explicitly.
    pub fn queues(&self) -> impl Iterator<Item = &str> {
        self.by_queue.keys().map(String::as_str)
    }
}

impl FromStr for LatencySlo {
    type Err = String;

    /// Parses `30`, `default=30`, `goodwill=5,default=30`; seconds may have fractions; `off`
    /// or an empty value means no SLO.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let mut slo = Self::none();
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("off") {
            return Ok(slo);
        }
        for item in trimmed.split(',').map(str::trim) {
            let (queue, secs) = match item.split_once('=') {
                Some((queue, secs)) => (queue.trim(), secs.trim()),
                None => ("default", item),
            };
            let seconds = secs
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| format!("{item:?}: the SLO must be a positive number of seconds"))?;
            if queue.is_empty() {
                return Err(format!("{item:?}: a queue name is missing before '='"));
            }
            let taken = if queue == "default" {
                slo.default.replace(seconds).is_some()
            } else {
                slo.by_queue.insert(queue.to_owned(), seconds).is_some()
            };
            if taken {
                return Err(format!("{queue:?} is given twice"));
            }
        }
        Ok(slo)
    }
}

impl fmt::Display for LatencySlo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .by_queue
            .iter()
            .map(|(q, d)| format!("{q}={}", d.as_secs_f64()))
            .collect();
        if let Some(d) = self.default {
            parts.push(format!("default={}", d.as_secs_f64()));
        }
        if parts.is_empty() {
            f.write_str("off")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}
