//! One module per job type; each handler is idempotent by rule.

pub mod record_goodwill;
