//! `SCALER=none`: recommend and log only. It remembers the last recommendation as the assumed
//! replica count so that successive decisions evolve as if someone followed them.

/// A scaler that applies nothing.
#[derive(Debug, Clone)]
pub struct NoScaler {
    assumed: u32,
}

impl NoScaler {
    /// Starts by assuming `replicas` are running.
    pub fn new(replicas: u32) -> Self {
        Self { assumed: replicas }
    }

    /// The assumed replicas.
    pub fn current(&self) -> u32 {
        self.assumed
    }

    /// Remembers the recommendation; nothing is applied.
    pub fn scale_to(&mut self, replicas: u32) -> String {
        let from = std::mem::replace(&mut self.assumed, replicas);
        format!("Recommended {from} -> {replicas} replicas (scaler none: nothing applied)")
    }
}
