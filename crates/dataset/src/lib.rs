//! Training data from executions: rows that TRL, PEFT and Hugging Face `datasets` take as
//! they are.
//!
//! The input is a [`Corpus`]: problems, their executions (a runs file, which records each
//! program) and optionally fault reports (`tracealign localize`). Four builders turn it into
//! rows, one module each:
//! - [`sft`]: every passing program as a prompt–completion row weighted FAIT-style, heavier
//!   where it differs from similar failing programs (or, lacking any, from killed mutants of
//!   itself).
//! - [`dpo`]: preference pairs (chosen passes, rejected fails, same prompt) with masks of
//!   where they differ and of the rejected program's most suspicious lines.
//! - [`repair`]: failing program + feedback → fix, in RepairLLaMA's representations (buggy-line
//!   markers, cloze) and with the failing test's trace rendered under a token budget.
//! - [`rewards`]: scalar and dense rewards per program; [`rewards::score`] is the pure
//!   function the HTTP service and the Python binding call.
//!
//! Conventions every builder keeps (ML engineers expect them; chat templates are out of
//! scope):
//! - `prompt` is the problem's prompt; `completion` is the program minus the prompt when the
//!   program starts with it, else the whole program ([`completion::Split`]).
//! - Without a tokenizer, per-position columns (weights, masks, dense rewards) have one entry
//!   per character of the completion, indexed as Python indexes a `str`. With a
//!   `tokenizer.json` they have one entry per token instead, aligned to `input_ids` (or to
//!   TRL's `chosen_input_ids`/`rejected_input_ids`), by the rules of [`align`]: a token takes
//!   the value of its character farthest from neutral, the prompt and the completion are
//!   encoded separately (no token straddles them), prompt tokens have label -100.
//! - Rows are JSON Lines with one schema per file ([`rows`]); no Parquet (see [`rows`]).
//!
//! Nothing here runs programs or prints: the CLI runs mutants when the SFT builder asks for
//! them ([`sft::mutant_requests`]) and reports the summaries.

pub mod align;
pub mod completion;
pub mod contrast;
pub mod corpus;
pub mod dpo;
pub mod error;
pub mod feedback;
pub mod hunk;
pub mod lines;
pub mod repair;
pub mod rewards;
pub mod rows;
pub mod sensitive;
pub mod sft;

pub use align::Aligner;
pub use corpus::{read_faults, Corpus, Faults};
pub use error::{DatasetError, Result};
pub use rewards::{score, Evidence, Reward, Scheme};
pub use sensitive::SensitiveWeights;
