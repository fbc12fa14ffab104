//! What can go wrong loading, training or exporting a model. Each error names the file, tensor
//! or row at fault and what was expected.

use std::path::PathBuf;

/// Anything that stops the trainer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A tensor operation failed (shapes, dtypes, devices).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JSON file or row could not be parsed.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Json {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// A checkpoint lacks a tensor the model needs, or has it with another shape.
    #[error("{}: tensor `{name}`: {message}", path.display())]
    Tensor {
        path: PathBuf,
        name: String,
        message: String,
    },
    /// A model, adapter or data set is not what the trainer can use.
    #[error("{0}")]
    Invalid(String),
    /// The tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}

/// The result of every fallible function of this crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

/// Attaches a path to an I/O error.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}
