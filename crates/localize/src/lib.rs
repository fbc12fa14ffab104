//! Fault localization: which lines (and tokens) of a failing program are responsible.
//!
//! Each localizer scores the program's candidate lines ([`program::Program::fault_lines`])
//! from the [`Evidence`] it is given: spectrum-based formulas over per-test coverage
//! ([`spectrum`]), the first divergence from the reference's trace ([`divergence`]), values
//! the reference never produced ([`values`]), the exception site ([`exception`]), names the
//! program never defines ([`undefined`]), a line-then-token diff against the nearest correct
//! program ([`diff`]), and their weighted combination ([`method::Weights`]). [`report`] turns a
//! method's scores into a [`tracealign_core::FaultReport`]. Scoring reports against known
//! faulty lines, and fitting the combination's weights, is evaluation: `tracealign_eval`'s
//! `accuracy` and `fit`.

pub mod diff;
pub mod divergence;
pub mod evidence;
pub mod exception;
pub mod method;
pub mod mutation;
pub mod program;
pub mod rank;
pub mod recency;
pub mod spectrum;
pub mod undefined;
pub mod values;

pub use evidence::{Evidence, LineScores, Run};
pub use method::{localize, report, report_from, Localization, Method, Signals, Weights};
pub use mutation::MutantRun;
pub use rank::LineScore;
pub use spectrum::{Formula, Spectrum};
