//! tracealign's benchmarks of record, as library calls (the `tracealign bench` commands
//! print what these return):
//!
//! - [`localization`]: every localization method's accuracy (top-k, EXAM) on killed mutants
//!   or on real failing programs;
//! - [`suite`]: execution throughput against a fresh interpreter per sample, tracing
//!   overhead against untraced runs, and localization on mutants, in one table.

pub mod localization;
pub mod suite;

use std::path::PathBuf;

pub use localization::{measure, LocalizationBench, Measured, Table};
pub use suite::{run_suite, Suite, SuiteReport};

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("no failing program with a known fault to localize")]
    NoCases,
    #[error("{path} holds no .jsonl or .jsonl.gz samples files")]
    NoSampleFiles { path: PathBuf },
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Format(#[from] tracealign_core::Error),
    #[error(transparent)]
    Exec(#[from] tracealign_exec::ExecError),
}
