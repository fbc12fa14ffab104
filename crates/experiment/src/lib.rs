//! The alignment experiment's data model: its TOML config (model, problems, sampling, arms,
//! the shared training budget, evaluation, `--quick` overrides) and its results table.

pub mod config;
pub mod results;

pub use config::{
    Arm, Condition, Config, ConfigError, DataKind, Objective, ProblemSet, RepairStudy,
};
pub use results::{CurvePoint, Paired, RepairResult, ResultRow, Results, SampledPass, BASE};
