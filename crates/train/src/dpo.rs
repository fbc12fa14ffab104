//! Direct Preference Optimization (Rafailov et al. 2023):
//! `-log σ(β·[(π_c − ref_c) − (π_r − ref_r)])`, where π and ref are a completion's summed
//! token log-probabilities under the adapted model and under the frozen base (adapters off).
//! The reference values are computed once per pair, when the pair is first trained on, and
//! cached.
//!
//! Weighted DPO: each completion token's log-probability is multiplied by its weight before
//! summing (weights 1 everywhere is plain DPO), so the preference can concentrate on the
//! region where the programs differ or on the fault.

use candle_core::Tensor;

use crate::batch::{collate, Sequence};
use crate::error::Result;
use crate::loss::weighted_log_probs;
use crate::model::{Model, Pass};

/// One preference pair: both sequences are prompt + completion, with the prompt masked and
/// per-token weights on the completion.
#[derive(Debug, Clone, PartialEq)]
pub struct DpoPair {
    pub chosen: Sequence,
    pub rejected: Sequence,
}

/// The weighted summed log-probability of each sequence's labelled tokens, [n]; chosen and
/// rejected of every pair run in one padded batch.
pub fn sequence_log_probs(
    model: &Model,
    sequences: &[&Sequence],
    pad_id: u32,
    pass: Pass,
) -> Result<Tensor> {
    let batch = collate(sequences, pad_id, model.device())?;
    let weighted = weighted_log_probs(model, &batch, pass)?;
    // Per-sequence sums as a matmul with the 0/1 membership matrix (differentiable).
    Ok(batch
        .membership
        .matmul(&weighted.unsqueeze(1)?)?
        .squeeze(1)?)
}

/// `[chosen_0, .., chosen_n, rejected_0, .., rejected_n]` of `pairs`.
pub fn stacked<'a>(pairs: &[&'a DpoPair]) -> Vec<&'a Sequence> {
    pairs
        .iter()
        .map(|p| &p.chosen)
        .chain(pairs.iter().map(|p| &p.rejected))
        .collect()
}

/// The reference log-probabilities (chosen, rejected) of each pair, adapters off, in one
/// forward pass.
pub fn reference_log_probs(
    model: &Model,
    pairs: &[&DpoPair],
    pad_id: u32,
) -> Result<Vec<(f32, f32)>> {
    let values =
        sequence_log_probs(model, &stacked(pairs), pad_id, Pass::Base)?.to_vec1::<f32>()?;
    let n = pairs.len();
    Ok((0..n).map(|i| (values[i], values[n + i])).collect())
}

/// DPO's loss summed over a batch (divide by the pair count outside), with each pair's
/// reward margin `β·[(π_c − ref_c) − (π_r − ref_r)]`.
pub fn dpo_loss(
    policy: &Tensor,
    reference: &[(f32, f32)],
    beta: f64,
) -> Result<(Tensor, Vec<f32>)> {
    let n = reference.len();
    let ref_values: Vec<f32> = reference
        .iter()
        .map(|r| r.0)
        .chain(reference.iter().map(|r| r.1))
        .collect();
    let ref_tensor = Tensor::from_vec(ref_values, 2 * n, policy.device())?;
    let ratios = (policy - ref_tensor)?;
    let margin = ((ratios.narrow(0, 0, n)? - ratios.narrow(0, n, n)?)? * beta)?;
    let loss = log_sigmoid(&margin)?.neg()?.sum_all()?;
    Ok((loss, margin.to_vec1::<f32>()?))
}

/// `log σ(x) = min(x, 0) − log(1 + e^{−|x|})`, stable for large |x|.
fn log_sigmoid(x: &Tensor) -> Result<Tensor> {
    let tail = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    Ok((x.minimum(0f32)? - tail)?)
}
