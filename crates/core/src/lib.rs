//! tracealign's data model and file formats.
//!
//! The types at the centre of everything: [`Problem`] (with [`TestCase`]s), [`Sample`] (a
//! program to judge), [`Execution`] (what happened, one [`TestOutcome`] per test) and
//! [`Value`] (a Python value carried out of the candidate's process). The [`formats`] module
//! reads and writes them as JSON Lines in our own format and in HumanEval, MBPP and EvalPlus
//! formats. [`sample`] names the sample ids that carry meaning (`#reference`, `#mutantK`);
//! [`python`] is the one Python parser (tree-sitter) that reading tests, localization and
//! mutation share. Nothing here runs code.

pub mod completion;
pub mod embedded;
pub mod error;
pub mod execution;
pub mod fault;
pub mod formats;
pub mod problem;
pub mod python;
pub mod random;
pub mod sample;
pub mod stats;
pub mod trace;
pub mod value;

pub use error::{Error, Result};
pub use execution::{Execution, ProgramStatus, TestOutcome, TestResult, TraceLocation, Verdict};
pub use fault::{FaultReport, InjectedFault, LineFault, SpanFault};
pub use problem::{Args, Language, Problem, TestCase, TestKind};
pub use sample::Sample;
pub use trace::{EventKind, Trace, TraceEvent, Vars};
pub use value::Value;
