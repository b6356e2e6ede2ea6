//! The People's Coin worker: one apalis worker per queue and one cron worker per schedule under
//! one `Monitor`, the shared operations server (`/livez`, `/health`, `/metrics`), and graceful shutdown on
//! SIGTERM.
//!
//! Delivery is at-least-once; every handler makes its effect exactly-once in Postgres.

pub mod context;
pub mod dead;
pub mod error;
pub mod handler;
pub mod handlers;
pub mod jobs;
pub mod operator_cli;
pub mod public_dns;
pub mod queue_selection;
pub mod runner;
pub mod schedules;
pub mod settings;
pub mod throttle;
