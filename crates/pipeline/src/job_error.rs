//! Why a job (the main job, the evaluation job) stopped: the error of the step that failed,
//! or of the stage graph around it.

use std::path::PathBuf;

use tracealign_dataset::DatasetError;
use tracealign_exec::ExecError;

use crate::localization::LocalizeError;
use crate::report::ReportError;
use crate::rows::BuildError;
use crate::runs::SamplesError;
use crate::stages::StageError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Stage(#[from] StageError),
    #[error(transparent)]
    Format(#[from] tracealign_core::Error),
    #[error(transparent)]
    Samples(#[from] SamplesError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Localize(#[from] LocalizeError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("generating samples: {0}")]
    Generate(Box<dyn std::error::Error + Send + Sync>),
    #[error(
        "{path} holds {what} made with other settings; pass --fresh to discard them, or \
         choose another --out"
    )]
    MadeOtherwise { path: PathBuf, what: &'static str },
    #[error("--faults needs --samples with mutants (their known faults are the ground truth)")]
    NoTruth,
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}
