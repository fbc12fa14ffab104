//! Training rows from the dataset crate's JSON Lines files, as token sequences.
//!
//! SFT rows `{prompt, completion, weights, input_ids?, labels?}`: with `input_ids` the token
//! columns are used as they are (weights one per token); without, prompt and completion are
//! tokenized here by the dataset crate's [`Aligner`] (per-character weights carried onto
//! tokens, an end-of-sequence token appended with weight 1).
//!
//! A prompt's trailing whitespace is moved to the front of its completion(s) (weight 1, mask
//! 0) before tokenizing: generation continues the prompt without it (a prompt ending in a
//! line break makes small models write prose), so training sees the same token boundary.
//!
//! DPO rows `{prompt, chosen, rejected, chosen_diff_mask, rejected_diff_mask,
//! rejected_fault_mask?, prompt_input_ids?, ...}`: each completion token weighs
//! `1 + mask_weight · mask` (the rejected side's mask is the fault mask when present, else
//! the diff mask), so `mask_weight = 0` is plain DPO.

use std::path::Path;

use serde_json::Value;
use tracealign_dataset::Aligner;

use crate::batch::Sequence;
use crate::dpo::DpoPair;
use crate::error::{io, Result, TrainError};
use crate::loss::IGNORE_INDEX;
use crate::tokenizer::TextTokenizer;

/// Which objective a file's rows are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Sft,
    Dpo,
}

/// Reads a JSONL file into objects, with line numbers for errors.
fn read_objects(path: &Path) -> Result<Vec<(usize, serde_json::Map<String, Value>)>> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let error = |message: String| TrainError::Json {
            path: path.to_path_buf(),
            line: Some(i + 1),
            message,
        };
        match serde_json::from_str::<Value>(line).map_err(|e| error(e.to_string()))? {
            Value::Object(map) => rows.push((i + 1, map)),
            _ => return Err(error("expected a JSON object".into())),
        }
    }
    Ok(rows)
}

/// The kind of the first row of `path` (`chosen` present: DPO).
pub fn detect_kind(path: &Path) -> Result<RowKind> {
    let rows = read_objects(path)?;
    let (_, first) = rows
        .first()
        .ok_or_else(|| TrainError::Invalid(format!("{} holds no rows", path.display())))?;
    Ok(match first.contains_key("chosen") {
        true => RowKind::Dpo,
        false => RowKind::Sft,
    })
}

struct Row<'a> {
    path: &'a Path,
    line: usize,
    map: &'a serde_json::Map<String, Value>,
}

impl Row<'_> {
    fn error(&self, message: String) -> TrainError {
        TrainError::Json {
            path: self.path.to_path_buf(),
            line: Some(self.line),
            message,
        }
    }
    fn string(&self, field: &str) -> Result<&str> {
        self.map
            .get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| self.error(format!("field `{field}` must be a string")))
    }
    /// A list of numbers, if present.
    fn numbers(&self, field: &str) -> Result<Option<Vec<f64>>> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_f64()
                        .ok_or_else(|| self.error(format!("field `{field}` must hold numbers")))
                })
                .collect::<Result<_>>()
                .map(Some),
            Some(_) => Err(self.error(format!("field `{field}` must be a list of numbers"))),
        }
    }
    fn ids(&self, field: &str) -> Result<Option<Vec<u32>>> {
        Ok(self
            .numbers(field)?
            .map(|v| v.into_iter().map(|x| x as u32).collect()))
    }
}

/// An aligner over `tokenizer` that appends its first end-of-sequence token.
pub fn aligner(tokenizer: &TextTokenizer) -> Result<Aligner> {
    let aligner = Aligner::new(tokenizer.inner.clone());
    match tokenizer
        .eos_ids
        .first()
        .and_then(|&id| tokenizer.inner.id_to_token(id))
    {
        Some(eos) => aligner
            .with_eos(&eos)
            .map_err(|e| TrainError::Tokenizer(e.to_string())),
        None => Ok(aligner),
    }
}

/// SFT sequences from `path`, each cut to `max_len` tokens.
pub fn read_sft(path: &Path, tokenizer: &TextTokenizer, max_len: usize) -> Result<Vec<Sequence>> {
    let aligner = aligner(tokenizer)?;
    let mut out = Vec::new();
    for (line, map) in read_objects(path)? {
        let row = Row {
            path,
            line,
            map: &map,
        };
        let mut sequence = sft_sequence(&row, &aligner)?;
        sequence.truncate(max_len);
        sequence.check().map_err(|e| row.error(e.to_string()))?;
        out.push(sequence);
    }
    Ok(out)
}

fn sft_sequence(row: &Row, aligner: &Aligner) -> Result<Sequence> {
    let weights = row.numbers("weights")?;
    if let Some(input_ids) = row.ids("input_ids")? {
        let labels: Vec<i64> = match row.numbers("labels")? {
            Some(labels) => labels.into_iter().map(|x| x as i64).collect(),
            None => input_ids.iter().map(|&t| i64::from(t)).collect(),
        };
        let weights: Vec<f32> = match weights {
            Some(w) if w.len() == input_ids.len() => w.into_iter().map(|x| x as f32).collect(),
            Some(w) => {
                return Err(row.error(format!(
                    "{} weights for {} input_ids; with input_ids, weights are per token",
                    w.len(),
                    input_ids.len()
                )))
            }
            None => labels
                .iter()
                .map(|&l| if l == IGNORE_INDEX { 0.0 } else { 1.0 })
                .collect(),
        };
        return Ok(Sequence {
            input_ids,
            labels,
            weights,
        });
    }
    let (prompt, completion) = (row.string("prompt")?, row.string("completion")?);
    let weights = weights.unwrap_or_else(|| vec![1.0; completion.chars().count()]);
    let (prompt, completion, weights) = move_trailing_whitespace(prompt, completion, &weights, 1.0);
    let seq = aligner
        .sequence(prompt, &completion, &weights, 1.0)
        .map_err(|e| row.error(format!("cannot tokenize: {e:?}")))?;
    Ok(Sequence {
        weights: seq
            .values
            .iter()
            .zip(&seq.labels)
            .map(|(&v, &l)| if l == IGNORE_INDEX { 0.0 } else { v as f32 })
            .collect(),
        input_ids: seq.input_ids,
        labels: seq.labels,
    })
}

/// DPO pairs from `path`, each side cut to `max_len` tokens.
pub fn read_dpo(
    path: &Path,
    tokenizer: &TextTokenizer,
    max_len: usize,
    mask_weight: f64,
) -> Result<Vec<DpoPair>> {
    let aligner = aligner(tokenizer)?;
    let mut out = Vec::new();
    for (line, map) in read_objects(path)? {
        let row = Row {
            path,
            line,
            map: &map,
        };
        let full_prompt = row.string("prompt")?;
        let prompt_ids = match row.ids("prompt_input_ids")? {
            Some(ids) => ids,
            None => {
                aligner
                    .encode(full_prompt.trim_end(), true)
                    .map_err(|e| row.error(format!("cannot tokenize the prompt: {e:?}")))?
                    .ids
            }
        };
        let rejected_mask = match row.numbers("rejected_fault_mask")? {
            Some(mask) => Some(mask),
            None => row.numbers("rejected_diff_mask")?,
        };
        let chosen_mask = row.numbers("chosen_diff_mask")?;
        let side = |name: &str, mask: Option<Vec<f64>>| -> Result<Sequence> {
            let (ids, mask) = match row.ids(&format!("{name}_input_ids"))? {
                Some(ids) => (ids, mask.unwrap_or_default()),
                None => {
                    let text = row.string(name)?;
                    let chars = mask.unwrap_or_else(|| vec![0.0; text.chars().count()]);
                    let (_, text, chars) = move_trailing_whitespace(full_prompt, text, &chars, 0.0);
                    aligner
                        .completion(&text, &chars, 0.0)
                        .map_err(|e| row.error(format!("cannot tokenize `{name}`: {e:?}")))?
                }
            };
            let weights: Vec<f32> = (0..ids.len())
                .map(|i| (1.0 + mask_weight * mask.get(i).copied().unwrap_or(0.0)) as f32)
                .collect();
            let mut seq = Sequence::prompt_completion(&prompt_ids, &ids, &weights);
            seq.truncate(max_len);
            seq.check().map_err(|e| row.error(e.to_string()))?;
            Ok(seq)
        };
        out.push(DpoPair {
            chosen: side("chosen", chosen_mask)?,
            rejected: side("rejected", rejected_mask)?,
        });
    }
    Ok(out)
}

/// `prompt` without its trailing whitespace, and `completion` with it in front, per-character
/// `values` extended with `neutral` for the moved characters.
fn move_trailing_whitespace<'a>(
    prompt: &'a str,
    completion: &str,
    values: &[f64],
    neutral: f64,
) -> (&'a str, String, Vec<f64>) {
    let trimmed = prompt.trim_end();
    let moved = &prompt[trimmed.len()..];
    let mut all = vec![neutral; moved.chars().count()];
    all.extend_from_slice(values);
    (trimmed, format!("{moved}{completion}"), all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_whitespace_moves_into_the_completion_with_neutral_values() {
        let (p, c, v) = move_trailing_whitespace(
            "def f():\n    \"\"\"doc\"\"\"\n",
            "    return 1\n",
            &[2.0; 13],
            1.0,
        );
        assert_eq!(p, "def f():\n    \"\"\"doc\"\"\"");
        assert_eq!(c, "\n    return 1\n");
        assert_eq!(v.len(), c.chars().count());
        assert_eq!(v[0], 1.0);
        assert_eq!(v[1], 2.0);
    }
}
