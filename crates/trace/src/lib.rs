//! Operations on execution traces (see `tracealign_core::trace` for the data).
//!
//! - [`divergence`]: where a candidate's trace first departs from the reference solution's
//!   trace on the same test.
//! - [`render`]: a trace as compact text for a prompt, in four styles, under a token budget.

pub mod divergence;
pub mod render;

pub use divergence::{first_divergence, Divergence};
