//! The alignment experiment: its TOML config (model, problems, sampling, arms, the shared
//! training budget, evaluation, `--quick` overrides), its plan as a stage graph, the run
//! that calls the library steps for each stage, and its results table.
//!
//! A crate beside tracealign-pipeline rather than a module of it: the experiment samples and
//! trains models (tracealign-train, candle), and the pipeline stays free of candle for the
//! service and the Python package.
//!
//! ```no_run
//! # use std::path::Path;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = tracealign_experiment::Config::read(Path::new("experiment.toml"))?.quick();
//! let exec = tracealign_pipeline::ExecSettings::new("python3".into());
//! let progress = tracealign_pipeline::NoProgress;
//! let results =
//!     tracealign_experiment::run(&config, Path::new("out"), &exec, &progress, &mut |_| {})?;
//! print!("{}", results.markdown());
//! # Ok(())
//! # }
//! ```

pub mod config;
pub mod error;
pub mod job;
pub mod layout;
pub mod plan;
pub mod results;

pub use config::{
    Arm, Condition, Config, ConfigError, DataKind, Objective, ProblemSet, RepairStudy,
};
pub use error::{ExperimentError, StepError};
pub use job::{collect_results, run, write_problem_subsets, write_results, ExperimentJob};
pub use layout::Layout;
pub use plan::{plan, ExperimentStage};
pub use results::{CurvePoint, Paired, RepairResult, ResultRow, Results, SampledPass, BASE};
