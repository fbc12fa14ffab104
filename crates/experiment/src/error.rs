//! What stops an experiment: a stage's step failing (named by the stage), the stage graph's
//! own bookkeeping, or the inputs and outputs around the stages.

use std::path::PathBuf;

use tracealign_pipeline::report::ReportError;
use tracealign_pipeline::rows::BuildError;
use tracealign_pipeline::{LocalizeError, SamplesError, StageError};
use tracealign_train::{SamplingError, TrainingError};

/// Why the experiment stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExperimentError {
    #[error("stage {stage} failed")]
    Stage {
        stage: String,
        #[source]
        source: Box<StepError>,
    },
    #[error(transparent)]
    Stages(#[from] StageError),
    #[error("{}:{line}: not a JSON problem record: {message}", path.display())]
    ProblemRecord {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not an evaluation: {message}", path.display())]
    NotAnEvaluation { path: PathBuf, message: String },
    #[error("{}:{line}: not a training step's metrics: {message}", path.display())]
    Metrics {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("the greedy evaluation of {model} on {set} has no pass@1")]
    NoPassAt1 { model: String, set: String },
    #[error(transparent)]
    Format(#[from] tracealign_core::Error),
}

/// Why one stage's step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    #[error(transparent)]
    Sampling(Box<SamplingError>),
    #[error(transparent)]
    Training(Box<TrainingError>),
    #[error(transparent)]
    Grpo(Box<tracealign_rl::grpo::GrpoError>),
    #[error(transparent)]
    Samples(#[from] SamplesError),
    #[error(transparent)]
    Localize(#[from] LocalizeError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Exec(#[from] tracealign_exec::ExecError),
    #[error(transparent)]
    Dataset(#[from] tracealign_dataset::DatasetError),
    #[error(transparent)]
    Format(#[from] tracealign_core::Error),
    #[error(transparent)]
    Rows(#[from] tracealign_predict::ReadError),
    #[error(transparent)]
    Check(#[from] tracealign_predict::check::CheckError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<tracealign_rl::grpo::GrpoError> for StepError {
    fn from(error: tracealign_rl::grpo::GrpoError) -> StepError {
        StepError::Grpo(Box::new(error))
    }
}

impl From<SamplingError> for StepError {
    fn from(error: SamplingError) -> StepError {
        StepError::Sampling(Box::new(error))
    }
}

impl From<TrainingError> for StepError {
    fn from(error: TrainingError) -> StepError {
        StepError::Training(Box::new(error))
    }
}
