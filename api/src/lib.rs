//! The People's Coin HTTP API.
//!
//! It authenticates, validates and enqueues; it never writes to Postgres. Reads come from a
//! read-only pool and from the queue. `startup::Application` is what `main` runs and what the
//! tests spawn on port 0.

pub mod accepted;
pub mod auth;
pub mod body_limits;
pub mod bounded;
pub mod cli;
pub mod commands;
pub mod connections;
pub mod extract;
pub mod guard;
pub mod http_metrics;
pub mod idempotency;
pub mod openapi;
pub mod operator;
pub mod paging;
pub mod problem;
pub mod rate_limit;
pub mod request_id;
pub mod responses;
pub mod routes;
pub mod server;
pub mod settings;
pub mod shed;
pub mod startup;
pub mod state;
#[cfg(test)]
mod test_support;
pub mod watchdog;
