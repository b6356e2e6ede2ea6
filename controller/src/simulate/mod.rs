//! A simulator of the autoscaler: the same [`crate::decide::decide`] the controller runs, fed
//! with synthetic snapshots of a modelled fleet working a modelled queue, second by second.
//! Pure and deterministic (no clock, no randomness, no I/O), so tests run the presets over a
//! simulated day, or at 1,000 replicas, in well under a second each, and predict what the
//! real harness (`coin-bench autoscale`, issue 17) will measure.
//!
//! The model assumes (each a knob of [`fleet::Fleet`] or [`trace::Trace`]):
//! - jobs arrive as a fluid at the trace's rate and are taken first in, first out;
//! - a replica completes `per_replica` jobs per second while work waits, degraded by the
//!   Universal Scalability Law (contention `alpha`, coherency `beta`), so past a knee more
//!   replicas add little and, far past it, less than nothing (the Postgres they share);
//! - a new replica works after `startup_secs`; a removed one stops at once (no drain);
//! - the controller measures every `interval_secs`, instantly and without error; the queue
//!   latency is the age of the oldest waiting job, as the controller measures it.

pub mod fleet;
pub mod report;
pub mod run;
#[cfg(test)]
mod tests;
pub mod trace;
