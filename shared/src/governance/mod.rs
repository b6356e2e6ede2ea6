//! Governance rules shared by the API (live tallies) and the worker (final tallies, checks).

pub mod tally;
