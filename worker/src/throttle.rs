//! A token bucket on goodwill job completion (`GOODWILL_MAX_JOBS_PER_SEC`, bench-only, off by
//! default): each goodwill job takes a token before it joins a group commit, so one process
//! completes at most that many jobs per second however fast its CPU is. `coin-bench autoscale`
//! uses it on a 2-core machine, where more processes would add no CPU, to make each replica
//! worth a fixed throughput, as on a real cluster.
//!
//! Tokens are reserved: a job that finds the bucket empty takes the next token to come (the
//! bucket goes into debt) and waits until it is due, before doing any work; waiters are thus
//! served in arrival order at exactly the rate, with at most `burst` jobs at once after a pause.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::time::Instant;

/// The bucket's state at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    /// Tokens per second.
    rate: f64,
    /// Most tokens saved up.
    burst: f64,
    /// Tokens now (negative: reserved ahead by waiters).
    tokens: f64,
    /// When `tokens` was computed.
    at: Instant,
}

impl Bucket {
    /// Refills up to `now`, takes one token and says how long to wait until it is due.
    fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = now.max(self.at);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// A shared rate limit, or none; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Throttle {
    bucket: Option<Arc<Mutex<Bucket>>>,
}

impl Throttle {
    /// At most `per_sec` acquisitions per second (bursts of a tenth of a second's worth, at
    /// least one); `None`, zero or a non-finite rate: no limit.
    pub fn per_sec(per_sec: Option<f64>) -> Self {
        let Some(rate) = per_sec.filter(|r| r.is_finite() && *r > 0.0) else {
            return Self::default();
        };
        let burst = (rate / 10.0).max(1.0);
        Self {
            bucket: Some(Arc::new(Mutex::new(Bucket {
                rate,
                burst,
                tokens: burst,
                at: Instant::now(),
            }))),
        }
    }

    /// Waits for a token; at once when there is no limit.
    pub async fn acquire(&self) {
        let Some(bucket) = &self.bucket else { return };
        // A poisoned lock only means another job panicked mid-update; the state is two floats.
        let wait = match bucket.lock() {
            Ok(mut b) => b.reserve(Instant::now()),
            Err(poisoned) => poisoned.into_inner().reserve(Instant::now()),
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use crate::throttle::{Bucket, Throttle};

    fn bucket(rate: f64, burst: f64, at: Instant) -> Bucket {
        Bucket {
            rate,
            burst,
            tokens: burst,
            at,
        }
    }

    #[test]
    fn a_full_bucket_serves_its_burst_then_one_token_per_interval() {
        let start = Instant::now();
        let mut b = bucket(10.0, 2.0, start);
        assert_eq!(b.reserve(start), Duration::ZERO);
        assert_eq!(b.reserve(start), Duration::ZERO);
        // Empty: the next three wait 0.1 s, 0.2 s, 0.3 s (reserved in order).
        for n in 1..=3 {
            let wait = b.reserve(start).as_secs_f64();
            assert!((wait - 0.1 * f64::from(n)).abs() < 1e-9, "{n}: {wait}");
        }
    }

    #[test]
    fn an_idle_bucket_refills_to_its_burst_and_no_more() {
        let start = Instant::now();
        let mut b = bucket(10.0, 2.0, start);
        b.reserve(start);
        b.reserve(start);
        // A minute idle saves only `burst` tokens.
        let later = start + Duration::from_secs(60);
        assert_eq!(b.reserve(later), Duration::ZERO);
        assert_eq!(b.reserve(later), Duration::ZERO);
        assert!(b.reserve(later) > Duration::ZERO);
    }

    #[test]
    fn over_a_long_run_the_rate_is_the_limit() {
        let start = Instant::now();
        let mut b = bucket(50.0, 5.0, start);
        // 1,000 jobs arriving all at once: the last is due after (1,000 - 5) / 50 s.
        let last = (0..1_000)
            .map(|_| b.reserve(start))
            .last()
            .unwrap_or_default();
        assert!((last.as_secs_f64() - 995.0 / 50.0).abs() < 1e-6, "{last:?}");
    }

    #[tokio::test]
    async fn acquire_waits_before_the_work_and_no_limit_never_waits() {
        let throttle = Throttle::per_sec(Some(200.0));
        let started = Instant::now();
        for _ in 0..60 {
            throttle.acquire().await;
        }
        // Burst 20, then 40 more at 200/s: 0.2 s (timers may add a little, never take).
        let took = started.elapsed().as_secs_f64();
        assert!((0.19..0.5).contains(&took), "{took}");

        let free = Throttle::per_sec(None);
        let started = Instant::now();
        for _ in 0..1_000 {
            free.acquire().await;
        }
        assert!(started.elapsed() < Duration::from_millis(50));
        assert!(Throttle::per_sec(Some(0.0)).bucket.is_none());
    }
}
