//! Token-weighted cross-entropy (FAIT): `Σ w_t · CE_t / Σ w_t` over the predicted tokens,
//! where position t's logits predict token t+1. A label of -100 (the prompt, padding) weighs
//! 0 whatever its weight, so it contributes neither loss nor gradient.
//!
//! Only the positions that carry weight go through the output layer and the log-softmax: with
//! a 49k-token vocabulary those cost as much as several decoder layers per position, and the
//! prompt and padding positions weigh 0.
//!
//! The normaliser is passed in rather than taken from the batch so that accumulated
//! micro-batches share one normaliser: the accumulated gradient then equals the gradient of
//! the whole batch at once.

use candle_core::{Tensor, D};

use crate::error::Result;
use crate::model::{Model, Pass};

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
    /// The weighted positions: flat indices into [b·(t-1)], u32 [n].
    pub positions: Tensor,
    /// Their targets (u32 [n]) and weights (f32 [n]).
    pub position_targets: Tensor,
    pub position_weights: Tensor,
    /// Which sequence each weighted position belongs to, as a 0/1 matrix f32 [b, n].
    pub membership: Tensor,
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

/// `Σ w_t · (-log p(target_t)) / normaliser` from full logits, as a scalar tensor.
pub fn weighted_cross_entropy(logits: &Tensor, batch: &Batch, normaliser: f64) -> Result<Tensor> {
    let log_probs = target_log_probs(logits, &batch.targets)?;
    let total = (log_probs * &batch.weights)?.sum_all()?;
    Ok((total.neg()? / normaliser.max(f64::MIN_POSITIVE))?)
}

/// `w_t · log p(target_t)` of the batch's weighted positions, f32 [n], running the output
/// layer on those positions only.
pub fn weighted_log_probs(model: &Model, batch: &Batch, pass: Pass) -> Result<Tensor> {
    let hidden = model.hidden(&batch.input_ids, None, pass)?;
    let (b, t, h) = hidden.dims3()?;
    let rows = hidden
        .narrow(1, 0, t - 1)?
        .reshape((b * (t - 1), h))?
        .index_select(&batch.positions, 0)?;
    let logits = model.output(&rows)?;
    let picked = match crate::kernels::runs_on(&logits) {
        true => crate::kernels::target_log_probs(&logits, &batch.position_targets)?,
        false => candle_nn::ops::log_softmax(&logits, D::Minus1)?
            .gather(&batch.position_targets.unsqueeze(1)?, 1)?
            .squeeze(1)?,
    };
    Ok((picked * &batch.position_weights)?)
}

/// The weighted cross-entropy of the model on `batch`, divided by `normaliser` (see the
/// module header); equal to [`weighted_cross_entropy`] of the full logits.
pub fn sft_loss(model: &Model, batch: &Batch, normaliser: f64) -> Result<Tensor> {
    let total = weighted_log_probs(model, batch, Pass::Train)?.sum_all()?;
    Ok((total.neg()? / normaliser.max(f64::MIN_POSITIVE))?)
}
