//! Token-weighted cross-entropy (FAIT): `Σ w_t · CE_t / Σ w_t` over the predicted tokens,
//! where position t's logits predict token t+1. A label of -100 (the prompt, padding) weighs
//! 0 whatever its weight, so it contributes neither loss nor gradient.
//!
//! The normaliser is passed in rather than taken from the batch so that accumulated
//! micro-batches share one normaliser: the accumulated gradient then equals the gradient of
//! the whole batch at once.

use candle_core::{Tensor, D};

use crate::error::Result;

/// Labels of masked positions, as in Hugging Face.
pub const IGNORE_INDEX: i64 = -100;

/// A right-padded batch: `input_ids` [b, t] u32; `targets` [b, t-1] u32, the next token (0
/// where masked); `weights` [b, t-1] f32, the weight of predicting that token (0 where masked).
#[derive(Debug, Clone)]
pub struct Batch {
    pub input_ids: Tensor,
    pub targets: Tensor,
    pub weights: Tensor,
    /// Σ weights.
    pub weight_sum: f64,
    /// Real (non-padding) tokens, for throughput.
    pub tokens: usize,
}

/// Per-token log-probabilities of `targets` under `logits` [b, t, v] (the last position's
/// logits are dropped: they predict nothing in the batch). Returns [b, t-1].
pub fn target_log_probs(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let seq = logits.dim(1)?;
    let logits = logits.narrow(1, 0, seq - 1)?;
    let log_probs = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    Ok(log_probs
        .gather(&targets.unsqueeze(D::Minus1)?, D::Minus1)?
        .squeeze(D::Minus1)?)
}

/// `Σ w_t · (-log p(target_t)) / normaliser` as a scalar tensor.
pub fn weighted_cross_entropy(logits: &Tensor, batch: &Batch, normaliser: f64) -> Result<Tensor> {
    let log_probs = target_log_probs(logits, &batch.targets)?;
    let total = (log_probs * &batch.weights)?.sum_all()?;
    Ok((total.neg()? / normaliser.max(f64::MIN_POSITIVE))?)
}
