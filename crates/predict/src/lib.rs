//! Execution prediction: teach a model what code does (TRACED's execution paths and dynamic
//! values, CRUXEval's output prediction), with every answer checkable by running the code.
//!
//! - [`rows`]: from traced runs to prompt/completion rows: `output` (a call → its return
//!   value), `input` (a value → arguments that return it), `path` (a call → the lines that
//!   run, loops compressed), `state` (a call and a line → the variables' values after its
//!   first run, exact or in value categories) and `rationale` (`output` after its trace).
//! - [`path`]: the compressed line-sequence notation and its partial credit.
//! - [`check`]: a model's answer judged against a row: values compared with Python's `==`
//!   by running both sides in the sandbox, paths by their expansion; [`Score`] of a set.
//! - [`read`]: rows to answer, ours or CRUXEval's JSONL as published.
//! - [`answer`] (feature `answer`, on by default: it brings the model code): a model's
//!   greedy answers to rows, local or through an endpoint.
//! - [`reply`]: a reply cut to its answer, and where generation stops.
//! - [`literal`]: Python literals recognised in source text (values asked about, `input`
//!   answers run).

#[cfg(feature = "answer")]
pub mod answer;
pub mod check;
pub mod literal;
pub mod path;
pub mod read;
pub mod reply;
pub mod rows;

pub use check::{Checker, Judgement, Score};
pub use read::{parse_row, read_rows, ReadError};
pub use rows::{build_rows, Answer, PredictOptions, PredictRow, Task};
