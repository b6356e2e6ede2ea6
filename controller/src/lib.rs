//! The People's Coin controller: measures queues, host and Postgres, decides worker replicas,
//! scales, records and exports, and serves the read-only Observability Node.
//!
//! `measure` and `scale` do I/O; `decide` is a pure function of what was measured; `control_loop`
//! ties them together every `CONTROLLER_INTERVAL`; `record` and `export` leave the trace;
//! `observability` serves it; `console` is the operators' signed-in HTML console; `simulate`
//! runs the same decision against a modelled fleet.

pub mod app;
pub mod console;
pub mod control_loop;
pub mod decide;
pub mod export;
pub mod measure;
pub mod observability;
pub mod pools;
pub mod record;
pub mod scale;
pub mod settings;
pub mod simulate;
pub mod timeline;
