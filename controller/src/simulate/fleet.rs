//! The modelled fleet: per-replica capacity under contention, and replicas that take time to
//! start.

use std::collections::VecDeque;

/// How the replicas work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fleet {
    /// Jobs per second one replica completes alone.
    pub per_replica: f64,
    /// Contention (USL alpha): the serial share of the work.
    pub alpha: f64,
    /// Coherency (USL beta): the cost each pair of replicas adds (past its peak, throughput falls).
    pub beta: f64,
    /// Seconds from a scale-up to the new replica working.
    pub startup_secs: u64,
}

impl Fleet {
    /// Jobs per second `replicas` working replicas complete together.
    pub fn capacity(&self, replicas: u32) -> f64 {
        let n = f64::from(replicas);
        if replicas == 0 {
            return 0.0;
        }
        n * self.per_replica / (1.0 + self.alpha * (n - 1.0) + self.beta * n * (n - 1.0))
    }
}

/// Replicas asked for and replicas working, over time.
#[derive(Debug, Clone, Default)]
pub struct Replicas {
    working: u32,
    starting: VecDeque<(u64, u32)>,
}

impl Replicas {
    /// `n` replicas, all working.
    pub fn working(n: u32) -> Self {
        Self {
            working: n,
            starting: VecDeque::new(),
        }
    }

    /// Replicas asked for (working and starting): what the scaler reports and what is paid.
    pub fn provisioned(&self) -> u32 {
        self.working + self.starting.iter().map(|(_, n)| n).sum::<u32>()
    }

    /// Replicas working at `now` (those whose startup has finished join).
    pub fn working_at(&mut self, now: u64) -> u32 {
        while let Some(&(ready_at, n)) = self.starting.front() {
            if ready_at > now {
                break;
            }
            self.working += n;
            self.starting.pop_front();
        }
        self.working
    }

    /// Scales to `target` at `now`: new replicas start, removed ones go (starting ones first).
    pub fn scale_to(&mut self, target: u32, now: u64, fleet: &Fleet) {
        let current = self.provisioned();
        if target > current {
            self.starting
                .push_back((now + fleet.startup_secs, target - current));
            return;
        }
        let mut surplus = current - target;
        while surplus > 0 {
            match self.starting.back_mut() {
                Some((_, n)) if *n > surplus => {
                    *n -= surplus;
                    surplus = 0;
                }
                Some((_, n)) => {
                    surplus -= *n;
                    self.starting.pop_back();
                }
                None => {
                    self.working -= surplus.min(self.working);
                    surplus = 0;
                }
            }
        }
    }
}
