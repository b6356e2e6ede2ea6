//! The People's Coin controller: measures queues, host and Postgres, decides worker replicas,
//! scales, records and exports, and serves the read-only Observability Node.
//!
//! This first version connects to its dependencies and serves `/health` and `/metrics`; the
//! decision loop is built on top of it.

pub mod app;
pub mod settings;
