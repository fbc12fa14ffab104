//! tracealign's steps as typed library calls, for every front end (the `tracealign` binary,
//! and next a service and a Python package): each step takes typed settings, the programs'
//! data types and a [`Progress`], and returns values. No step reads argv or writes a file.
//!
//! - [`Workers`]: starting executors from one [`ExecSettings`] and preparing problems
//!   through the prepared cache.
//! - [`evaluate`]: run samples against problems, each [`Execution`] handed over as it ends.
//! - [`localize`]: a [`FaultReport`] for every execution of a runs set, with the evidence
//!   each method needs gathered on the way (reruns of programs that failed on their own test
//!   code, traced reference solutions, mutant runs).
//!
//! See `examples/evaluate_and_localize.rs` for the whole round trip without a command line.
//!
//! [`Execution`]: tracealign_core::Execution
//! [`FaultReport`]: tracealign_core::FaultReport

pub mod eval_job;
pub mod generation;
pub mod job_error;
pub mod localization;
pub mod main_job;
pub mod mutants;
pub mod problem_set;
pub mod progress;
pub mod report;
pub mod rows;
pub mod runs;
pub mod scaffolding;
pub mod stages;
pub mod workers;

pub use eval_job::{run_eval, EvalLayout, EvalOutcome, EvalPrograms, EvalSettings, Generator};
pub use job_error::JobError;
pub use localization::{localize, localize_with, LocalizeError, LocalizeInputs, LocalizeSettings};
pub use main_job::{
    run_pipeline, PipelineLayout, PipelineOutcome, PipelineSettings, PipelineStage, RowKind,
};
pub use mutants::{kill_mutants, MutateSettings};
pub use problem_set::ProblemSource;
pub use progress::{NoProgress, Progress};
pub use report::{assemble_report, ReportError, ReportInputs};
pub use rows::{BuildError, Built, RowInputs, SftSettings};
pub use runs::{load_samples, open_runs, run_into, RunSummary, SampleSource, SamplesError};
pub use stages::{run_stages, Job, Stage, StageError, StageEvent, Start};
pub use workers::{evaluate, ExecSettings, Workers};
