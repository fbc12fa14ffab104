//! Rows on disk: JSON Lines that `datasets.load_dataset("json", data_files=...)` loads.
//!
//! Every row of one file has the same columns with the same types (a column a builder can
//! leave out is left out of every row, never set to `null` in some), so that Arrow infers
//! one schema. Lists of numbers stay lists of numbers: `weights` is `list<double>`,
//! `input_ids` `list<int64>`, masks `list<int64>` of 0 and 1.
//!
//! Parquet is not written: its Rust writer (`arrow` + `parquet`) would add some hundred
//! crates to the build, and `datasets` converts in one line (`ds.to_parquet(path)`).

use std::path::Path;

use serde::Serialize;
use tracealign_core::formats::jsonl::write_records;

use crate::align::Sequence;
use crate::error::Result;

/// The tokenized columns of a prompt–completion row (with `--tokenizer`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenColumns {
    /// Prompt then completion tokens.
    pub input_ids: Vec<u32>,
    pub attention_mask: Vec<u8>,
    /// Completion token ids; -100 over the prompt.
    pub labels: Vec<i64>,
}

impl TokenColumns {
    /// The columns of a sequence, and its per-token values apart.
    pub fn split(sequence: Sequence) -> (TokenColumns, Vec<f64>) {
        let Sequence {
            input_ids,
            attention_mask,
            labels,
            values,
        } = sequence;
        (
            TokenColumns {
                input_ids,
                attention_mask,
                labels,
            },
            values,
        )
    }
}

/// Writes `rows` to `path`, one JSON object per line (core's JSON Lines writer).
pub fn write_jsonl<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    write_records(path, rows)?;
    Ok(())
}

/// 0/1 masks as integers (values farther from 0 than a half count as set).
pub fn mask(values: &[f64]) -> Vec<u8> {
    values.iter().map(|&v| u8::from(v.abs() > 0.5)).collect()
}
