//! Errors of the execution machinery itself. A program that fails, hangs or crashes is
//! not an error: it is an outcome.

use std::path::PathBuf;

/// Something that kept tracealign from executing programs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    #[error("cannot find a Python interpreter: {detail}")]
    NoPython { detail: String },
    #[error("cannot start the Python worker `{python}`: {source}")]
    Spawn {
        python: PathBuf,
        source: std::io::Error,
    },
    #[error("a Python worker stopped unexpectedly: {detail}")]
    WorkerDied { detail: String },
    #[error("a Python worker sent an unreadable answer: {detail}")]
    Protocol { detail: String },
}
