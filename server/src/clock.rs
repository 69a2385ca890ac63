//! The clock every part of the server reads: the pipeline crate's, so the
//! embedded pipeline shares it.

pub use parley_pipeline::clock::{Clock, ManualClock};
