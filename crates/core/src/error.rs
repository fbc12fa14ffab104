//! Errors of reading and writing tracealign's files. Each names the file, the line and the
//! field, and says what was expected, so the user can fix the input.

use std::path::PathBuf;

/// Anything that can go wrong reading or writing a tracealign file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: malformed JSON: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}: {message}")]
    Record {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: the file is empty; expected JSON Lines with one {what} per line")]
    Empty { path: PathBuf, what: &'static str },
    #[error(
        "{path}:{line}: cannot tell the format of this record (keys: {keys}); expected {expected}"
    )]
    UnknownFormat {
        path: PathBuf,
        line: usize,
        keys: String,
        expected: &'static str,
    },
    #[error("{path}:{line}: duplicate {what} id `{id}` (first seen on line {first_line})")]
    Duplicate {
        path: PathBuf,
        line: usize,
        what: &'static str,
        id: String,
        first_line: usize,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
