//! What every job module uses: the exactly-once skeleton, its effect, the small shared writes
//! and the job error. `use crate::jobs::prelude::*;`

pub use super::{
    Applied,
    apply_once::{Claim, Effect, apply_once, inserted},
    store,
};
pub use crate::error::{JobError, existing};
