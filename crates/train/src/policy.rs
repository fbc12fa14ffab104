//! The clipped policy-gradient loss of GRPO (and PPO) on sampled completions, with an
//! advantage and a mask per completion token, and an optional KL penalty to the frozen base
//! (adapters off) with the k3 estimator, `exp(ref - logp) - (ref - logp) - 1` (unbiased,
//! never negative; Schulman 2020, as GRPO uses it).
//!
//! Per token: `-min(ρ·A, clip(ρ, 1-ε, 1+ε)·A) + β·k3`, with `ρ = exp(logp - old)`, summed
//! over the tokens in the loss and divided by a normaliser the caller passes (the step's
//! token count: token-level normalisation, so micro-batches accumulate to the whole batch's
//! gradient and a long completion does not weigh less per token than a short one).
//!
//! With one update per batch of samples (what the online loop does), `old` is the current
//! policy itself, detached: ρ is 1 in value, its gradient is that of `logp`, and clipping
//! only matters when a caller passes older log-probabilities.

use candle_core::{Tensor, D};

use crate::batch::{collate, Sequence};
use crate::error::{Result, TrainError};
use crate::loss::{weighted_log_probs, IGNORE_INDEX};
use crate::model::{Model, Pass};

/// One sampled completion to learn from: prompt + completion with the prompt masked, the
/// loss mask as `weights` (1 in the loss, 0 out), and one advantage per input token (read
/// where the mask is 1).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyExample {
    pub sequence: Sequence,
    pub advantages: Vec<f32>,
}

impl PolicyExample {
    /// Prompt tokens masked; `mask` and `advantages` per completion token.
    pub fn new(prompt: &[u32], completion: &[u32], mask: &[f32], advantages: &[f32]) -> Self {
        let sequence = Sequence::prompt_completion(prompt, completion, mask);
        let mut all = vec![0.0; prompt.len()];
        all.extend_from_slice(advantages);
        PolicyExample {
            sequence,
            advantages: all,
        }
    }

    /// Tokens in the loss.
    pub fn live_tokens(&self) -> usize {
        self.positions().count()
    }

    /// The input positions in the loss, in the order [`collate`] lists them.
    fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        let s = &self.sequence;
        (1..s.input_ids.len()).filter(|&t| s.labels[t] != IGNORE_INDEX && s.weights[t] != 0.0)
    }
}

/// The loss's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolicyLossConfig {
    /// ε of the clipped ratio. Default 0.2.
    pub clip: f64,
    /// β of the KL penalty to the base; 0: none, and no reference pass. Default 0.02.
    pub kl_beta: f64,
}

impl Default for PolicyLossConfig {
    fn default() -> Self {
        PolicyLossConfig {
            clip: 0.2,
            kl_beta: 0.02,
        }
    }
}

/// What one micro-batch's loss measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PolicyStats {
    /// Tokens in the loss.
    pub tokens: usize,
    /// Σ k3 over them (0 without a KL penalty).
    pub kl_sum: f64,
    /// Tokens whose ratio was clipped.
    pub clipped: usize,
}

/// The loss of `examples` (one padded batch) divided by `normaliser`, and its statistics.
/// `old`: per token in the loss (in order), the log-probabilities the samples were drawn
/// with; `None`: the current policy's, detached.
pub fn policy_loss(
    model: &Model,
    examples: &[&PolicyExample],
    pad_id: u32,
    config: &PolicyLossConfig,
    normaliser: f64,
    old: Option<&[f32]>,
) -> Result<(Tensor, PolicyStats)> {
    let sequences: Vec<&Sequence> = examples.iter().map(|e| &e.sequence).collect();
    let batch = collate(&sequences, pad_id, model.device())?;
    let advantages: Vec<f32> = (examples.iter())
        .flat_map(|e| e.positions().map(|t| e.advantages[t]))
        .collect();
    let n = advantages.len();
    // The mask is the weight, so these are plain log-probabilities (times 1).
    let log_probs = weighted_log_probs(model, &batch, Pass::Train)?;
    let old = match old {
        Some(values) if values.len() == n => Tensor::from_slice(values, n, model.device())?,
        Some(values) => {
            return Err(TrainError::Invalid(format!(
                "{} old log-probabilities for {n} tokens in the loss",
                values.len()
            )))
        }
        None => log_probs.detach(),
    };
    let advantages = Tensor::from_vec(advantages, n, model.device())?;
    let ratio = (&log_probs - &old)?.exp()?;
    let clipped_ratio = ratio.clamp(1.0 - config.clip, 1.0 + config.clip)?;
    let surrogate = (&ratio * &advantages)?.minimum(&(&clipped_ratio * &advantages)?)?;
    let mut per_token = surrogate.neg()?;
    let mut kl_sum = 0.0;
    if config.kl_beta > 0.0 {
        let reference = weighted_log_probs(model, &batch, Pass::Base)?.detach();
        let gap = (reference - &log_probs)?;
        let k3 = ((gap.exp()? - &gap)? - 1.0)?;
        kl_sum = k3.sum_all()?.to_scalar::<f32>()? as f64;
        per_token = (per_token + (k3 * config.kl_beta)?)?;
    }
    let outside = (ratio
        .ne(&clipped_ratio)?
        .to_dtype(candle_core::DType::F32)?)
    .sum(D::Minus1)?
    .to_scalar::<f32>()? as usize;
    let loss = (per_token.sum_all()? / normaliser.max(f64::MIN_POSITIVE))?;
    Ok((
        loss,
        PolicyStats {
            tokens: n,
            kl_sum,
            clipped: outside,
        },
    ))
}
