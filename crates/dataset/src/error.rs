//! What can go wrong building a dataset. Each error names the sample, file or field at fault
//! and what was expected; a program that fails its tests is data, never an error.

use std::path::PathBuf;

/// Anything that stops a builder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// An input file could not be read or parsed, or an output file written.
    #[error(transparent)]
    Input(#[from] tracealign_core::Error),
    /// A `tokenizer.json` could not be loaded.
    #[error("cannot load the tokenizer at {}", path.display())]
    LoadTokenizer {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The tokenizer failed on a text (it does not on plain UTF-8).
    #[error("the tokenizer cannot encode the {what} of sample `{sample_id}`: {message}")]
    Encode {
        sample_id: String,
        what: &'static str,
        message: String,
    },
    /// `--eos-token` names a token the vocabulary does not have.
    #[error("the tokenizer has no token `{token}` (asked for as the end-of-sequence token)")]
    UnknownToken { token: String },
    /// An execution of a problem that is not in the problem set.
    #[error(
        "sample `{sample_id}` is of problem `{problem_id}`, which is not in the problem set; \
         pass the problems the runs were made with"
    )]
    UnknownProblem {
        sample_id: String,
        problem_id: String,
    },
    /// An execution without its program (runs files written before programs were recorded).
    #[error(
        "sample `{sample_id}` has no program recorded (the runs file was written by an older \
         tracealign); run the samples again with `tracealign run`"
    )]
    MissingCode { sample_id: String },
    /// A fault report about a program other than the one that ran.
    #[error(
        "{}:{line}: the fault report of sample `{sample_id}` is about another program than \
         the runs file's; localize this runs file again",
        path.display()
    )]
    FaultMismatch {
        path: PathBuf,
        line: usize,
        sample_id: String,
    },
    /// A reward scheme was asked for without the evidence it is computed from.
    #[error("the `{scheme}` reward needs {needed}")]
    MissingEvidence {
        scheme: &'static str,
        needed: &'static str,
    },
    /// An option out of its range.
    #[error("{option} must be {expected} (got {value})")]
    InvalidOption {
        option: &'static str,
        expected: &'static str,
        value: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = DatasetError> = std::result::Result<T, E>;
