//! Everything the three People's Coin binaries share: settings, telemetry, the Postgres pool and
//! migrations, the Redis job queues, the job payloads and the domain rules they carry.
//!
//! The API produces jobs, the worker consumes them and the controller measures them: keeping the
//! payload types and queue names in one crate means a producer and a consumer cannot disagree.

/// String constants, each with its doc, and `ALL`: every one of them in the order declared, so
/// a new name cannot be left out of the list.
macro_rules! catalogue {
    ($($(#[$doc:meta])* $name:ident = $value:literal,)+) => {
        $($(#[$doc])* pub const $name: &str = $value;)+
        /// Every name above, in order.
        pub const ALL: &[&str] = &[$($name),+];
    };
}

pub mod config;
pub mod db;
pub mod domain;
pub mod exit;
pub mod governance;
pub mod health;
pub mod identity;
pub mod jobs;
pub mod metric_names;
pub mod operations;
pub mod ops;
pub mod queue;
pub mod schedules;
pub mod shutdown;
pub mod status;
pub mod telemetry;
pub mod validate;
pub mod webhook_target;
pub mod webhooks;
pub mod workers;
