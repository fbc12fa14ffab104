//! tracealign's steps as typed library calls, and the jobs built of them, for every front end
//! (the `tracealign` binary, and next a service and a Python package). A step takes typed
//! settings, the programs' data types, an executor (or the [`Workers`] to start one) and a
//! [`Progress`], and returns values; only a job writes files, into a layout of its own.
//!
//! Steps:
//! - [`Workers`]: executors from one [`ExecSettings`], problems prepared through the cache.
//! - [`evaluate`] and [`run_into`]: samples run, each [`Execution`] handed over (or written
//!   to a runs file, counted in a [`RunSummary`]) as it ends; [`load_samples`] reads them.
//! - [`kill_mutants`]: single-fault mutants of the reference solutions that a test catches.
//! - [`localize`] / [`localize_with`]: a [`FaultReport`] for every execution, with the
//!   evidence each method needs gathered on the way (scaffolding reruns, traced references,
//!   mutant runs).
//! - [`rows`]: SFT, DPO, repair and reward rows, each with a summary that says why when
//!   there are none; [`assemble_report`]: the HTML report of what a job made.
//!
//! Jobs, on the stage graph of [`stages`] (fingerprints of serialized settings and inputs,
//! resume, manifests with the equivalent command line):
//! - [`main_job`]: `tracealign pipeline` ([`run_pipeline`]), both writing an [`OutputLayout`];
//! - [`eval_job`]: `tracealign eval` ([`run_eval`]; generation through a [`Generator`] such
//!   as [`generation::ServerSamples`]).
//!
//! The experiment's job lives beside this crate (`tracealign-experiment`): it needs the
//! model code, which a service or a Python package calling these steps does not.
//! See `examples/evaluate_and_localize.rs` for a round trip without a command line.
//!
//! [`Execution`]: tracealign_core::Execution
//! [`FaultReport`]: tracealign_core::FaultReport

pub mod eval_job;
pub mod generation;
pub mod job_error;
pub mod layout;
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

pub use eval_job::{
    run_eval, EvalOutcome, EvalPrograms, EvalSettings, GenerateError, Generation, Generator,
};
pub use job_error::JobError;
pub use layout::{OutputLayout, RowKind};
pub use localization::{localize, localize_with, LocalizeError, LocalizeInputs, LocalizeSettings};
pub use main_job::{run_pipeline, PipelineOutcome, PipelineSettings, PipelineStage};
pub use mutants::{kill_mutants, MutateSettings};
pub use problem_set::ProblemSource;
pub use progress::{NoProgress, Progress};
pub use report::{assemble_report, ReportError, ReportInputs};
pub use rows::{BuildError, Built, RowInputs, SftSettings};
pub use runs::{load_samples, open_runs, run_into, RunSummary, SampleSource, SamplesError};
pub use stages::{run_stages, Job, Stage, StageError, StageEvent, Start};
pub use workers::{evaluate, ExecSettings, Workers};
