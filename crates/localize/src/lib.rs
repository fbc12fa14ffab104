//! Fault localization: which lines of a failing program are responsible.
//!
//! Today: spectrum-based scores ([`spectrum`]) over per-test coverage, from runs made with
//! `tracealign run --trace coverage` (or `full`). Each localizer gives a suspiciousness per
//! line; [`rank`] orders them and reports where a given line lands, counting ties
//! pessimistically.

pub mod rank;
pub mod spectrum;

pub use rank::{rank_of, LineScore};
pub use spectrum::{Formula, Spectrum};
