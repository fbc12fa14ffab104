//! Rows of token ids with per-token weights, padded into [`Batch`]es.
//!
//! A [`Sequence`] follows the dataset crate's columns: `input_ids` (prompt then completion),
//! `labels` (-100 over the prompt) and one weight per input token. Batches are right-padded:
//! with a causal mask, padding after a sequence cannot change its logits, so no attention
//! mask is needed; padded positions weigh 0.

use candle_core::{Device, Tensor};

use crate::error::{Result, TrainError};
use crate::loss::{Batch, IGNORE_INDEX};

/// One tokenized training sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    pub input_ids: Vec<u32>,
    /// Per input token; [`IGNORE_INDEX`] where nothing is learned.
    pub labels: Vec<i64>,
    /// Per input token; the loss weight of predicting it.
    pub weights: Vec<f32>,
}

impl Sequence {
    /// A prompt–completion pair: prompt tokens masked, completion tokens weighted.
    pub fn prompt_completion(prompt: &[u32], completion: &[u32], weights: &[f32]) -> Sequence {
        let mut input_ids = prompt.to_vec();
        input_ids.extend_from_slice(completion);
        let mut labels = vec![IGNORE_INDEX; prompt.len()];
        labels.extend(completion.iter().map(|&t| i64::from(t)));
        let mut all_weights = vec![0.0; prompt.len()];
        all_weights.extend_from_slice(weights);
        Sequence {
            input_ids,
            labels,
            weights: all_weights,
        }
    }

    /// Keeps the first `max_len` tokens.
    pub fn truncate(&mut self, max_len: usize) {
        self.input_ids.truncate(max_len);
        self.labels.truncate(max_len);
        self.weights.truncate(max_len);
    }

    /// Rejects columns of different lengths.
    pub fn check(&self) -> Result<()> {
        let n = self.input_ids.len();
        if self.labels.len() != n || self.weights.len() != n {
            return Err(TrainError::Invalid(format!(
                "a row has {} input_ids, {} labels and {} weights; they must be equal",
                n,
                self.labels.len(),
                self.weights.len()
            )));
        }
        if n < 2 {
            return Err(TrainError::Invalid("a row needs at least 2 tokens".into()));
        }
        Ok(())
    }
}

/// Pads `sequences` (with `pad_id`) into one batch.
pub fn collate(sequences: &[&Sequence], pad_id: u32, device: &Device) -> Result<Batch> {
    let len = sequences
        .iter()
        .map(|s| s.input_ids.len())
        .max()
        .unwrap_or(0);
    if len < 2 {
        return Err(TrainError::Invalid(
            "a batch needs sequences of at least 2 tokens".into(),
        ));
    }
    let b = sequences.len();
    let mut ids = Vec::with_capacity(b * len);
    let mut targets = Vec::with_capacity(b * (len - 1));
    let mut weights = Vec::with_capacity(b * (len - 1));
    let mut tokens = 0;
    for s in sequences {
        s.check()?;
        tokens += s.input_ids.len();
        ids.extend_from_slice(&s.input_ids);
        ids.extend(std::iter::repeat_n(pad_id, len - s.input_ids.len()));
        for t in 1..len {
            match s.labels.get(t) {
                Some(&label) if label != IGNORE_INDEX => {
                    targets.push(label as u32);
                    weights.push(s.weights[t]);
                }
                _ => {
                    targets.push(0);
                    weights.push(0.0);
                }
            }
        }
    }
    let weight_sum = weights.iter().map(|&w| f64::from(w)).sum();
    let positions: Vec<u32> = (0..weights.len() as u32)
        .filter(|&p| weights[p as usize] != 0.0)
        .collect();
    if positions.is_empty() {
        return Err(TrainError::Invalid(
            "a batch has no token with a non-zero weight to learn".into(),
        ));
    }
    let n = positions.len();
    let position_targets: Vec<u32> = positions.iter().map(|&p| targets[p as usize]).collect();
    let position_weights: Vec<f32> = positions.iter().map(|&p| weights[p as usize]).collect();
    let mut membership = vec![0f32; b * n];
    for (j, &p) in positions.iter().enumerate() {
        membership[(p as usize / (len - 1)) * n + j] = 1.0;
    }
    Ok(Batch {
        positions: Tensor::from_vec(positions, n, device)?,
        position_targets: Tensor::from_vec(position_targets, n, device)?,
        position_weights: Tensor::from_vec(position_weights, n, device)?,
        membership: Tensor::from_vec(membership, (b, n), device)?,
        input_ids: Tensor::from_vec(ids, (b, len), device)?,
        targets: Tensor::from_vec(targets, (b, len - 1), device)?,
        weights: Tensor::from_vec(weights, (b, len - 1), device)?,
        weight_sum,
        tokens,
    })
}
