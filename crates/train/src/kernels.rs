//! Fused CPU kernels with a backward pass, for the differentiated (training) forward: RMSNorm,
//! the half-split rotary embedding, a scaled causal softmax, and the log-probability of target
//! tokens (log-softmax and gather in one pass, so no [rows, vocab] intermediate is kept).
//!
//! candle's fused versions (`candle_nn::ops::rms_norm`, `rotary_emb::rope`,
//! `softmax_last_dim`) have no backward, and composing the same maths from differentiable
//! element-wise ops costs a fresh buffer and a pass over memory per op, forward and backward:
//! on a small model that was most of a training step. Each op here is one pass forward and one
//! pass backward over contiguous f32 rows.
//!
//! Invariants: inputs are contiguous f32 on the CPU (the callers check and fall back to the
//! composed ops otherwise); only the input's gradient is computed — norm weights and rotation
//! tables are frozen, as everything but the LoRA adapters is.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Error, Layout, Shape, Tensor};

/// Whether the fused training kernels apply to `x`: a CPU f32 tensor in a recorded graph.
pub fn applies(x: &Tensor) -> bool {
    x.track_op() && runs_on(x)
}

/// Whether these kernels can run on `x` at all: a CPU f32 tensor.
pub fn runs_on(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == candle_core::DType::F32
}

/// `x / sqrt(mean(x²) + eps) · weight` over the last dimension, differentiable in `x`.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1(RmsNorm {
        weight: weight.to_vec1()?,
        eps: eps as f32,
    })
}

/// The half-split rotary embedding of `x` [.., seq, head_dim] by the angles' cos and sin
/// [seq, head_dim/2], differentiable in `x`.
pub fn rotary(x: &Tensor, cos_half: &Tensor, sin_half: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1(Rotary {
        cos: cos_half.flatten_all()?.to_vec1()?,
        sin: sin_half.flatten_all()?.to_vec1()?,
        half: cos_half.dim(1)?,
        inverse: false,
    })
}

/// `softmax(scale · scores)` over the last dimension under a causal mask: row r of the scores
/// [.., rows, total] is position `r % seq` of a run of `seq` queries that follows `offset`
/// earlier positions, and sees keys `0..=offset + r % seq` (the rest get probability 0).
/// Rows may stack several query heads of one key/value head (grouped-query attention).
pub fn causal_softmax(
    scores: &Tensor,
    scale: f64,
    seq: usize,
    offset: usize,
) -> candle_core::Result<Tensor> {
    scores.contiguous()?.apply_op1(CausalSoftmax {
        scale: scale as f32,
        seq,
        offset,
    })
}

/// `log softmax(logits)[r, targets[r]]` for logits [rows, vocab] and u32 targets [rows]:
/// [rows], differentiable in the logits. Its backward is the one [rows, vocab] buffer
/// `g · (onehot − softmax)`; a composed log-softmax keeps several.
pub fn target_log_probs(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    logits.contiguous()?.apply_op1(TargetLogProbs {
        targets: targets.to_vec1()?,
    })
}

/// The contiguous f32 elements of a CPU operand.
fn elements<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a [f32]> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| Error::Msg(format!("{op} needs a contiguous input")))?;
    Ok(&storage.as_slice::<f32>()?[start..end])
}

fn output(values: Vec<f32>, layout: &Layout) -> (CpuStorage, Shape) {
    (CpuStorage::F32(values), layout.shape().clone())
}

/// A tensor shaped like `a`, computed row by row from `a` and `b` (each cut into rows of
/// `widths.0` and `widths.1` elements): `per_row(index, a_row, b_row, out)` appends one row.
/// The backward passes are all of this form.
fn by_rows<F>(
    a: &Tensor,
    b: &Tensor,
    name: &'static str,
    widths: (usize, usize),
    per_row: F,
) -> candle_core::Result<Tensor>
where
    F: Fn(usize, &[f32], &[f32], &mut Vec<f32>),
{
    let op = ByRows {
        name,
        widths,
        per_row,
    };
    a.contiguous()?.apply_op2_no_bwd(&b.contiguous()?, &op)
}

struct ByRows<F> {
    name: &'static str,
    widths: (usize, usize),
    per_row: F,
}

impl<F: Fn(usize, &[f32], &[f32], &mut Vec<f32>)> CustomOp2 for ByRows<F> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn cpu_fwd(
        &self,
        a_storage: &CpuStorage,
        a_layout: &Layout,
        b_storage: &CpuStorage,
        b_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let a = elements(a_storage, a_layout, self.name)?;
        let b = elements(b_storage, b_layout, self.name)?;
        let mut out = Vec::with_capacity(a.len());
        let rows = a
            .chunks_exact(self.widths.0)
            .zip(b.chunks_exact(self.widths.1));
        for (index, (a_row, b_row)) in rows.enumerate() {
            (self.per_row)(index, a_row, b_row, &mut out);
        }
        Ok(output(out, a_layout))
    }
}

struct RmsNorm {
    weight: Vec<f32>,
    eps: f32,
}

impl RmsNorm {
    /// 1 / sqrt(mean(x²) + eps) of one row.
    fn inverse_rms(&self, row: &[f32]) -> f32 {
        let mean_square = row.iter().map(|v| v * v).sum::<f32>() / row.len() as f32;
        1.0 / (mean_square + self.eps).sqrt()
    }
}

impl CustomOp1 for RmsNorm {
    fn name(&self) -> &'static str {
        "fused-rms-norm"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = elements(storage, layout, self.name())?;
        let dim = self.weight.len();
        let mut y = Vec::with_capacity(x.len());
        for row in x.chunks_exact(dim) {
            let r = self.inverse_rms(row);
            y.extend(row.iter().zip(&self.weight).map(|(v, w)| v * r * w));
        }
        Ok(output(y, layout))
    }

    /// dx = r·gw − x·r³·mean(gw·x), with r = 1/rms(x) and gw = g·w.
    fn bwd(&self, x: &Tensor, _y: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let dim = self.weight.len();
        let dx = by_rows(
            x,
            grad,
            "fused-rms-norm-backward",
            (dim, dim),
            |_, row, grad, dx| {
                let r = self.inverse_rms(row);
                let w = &self.weight;
                let dot: f32 = (0..dim).map(|i| grad[i] * w[i] * row[i]).sum();
                let coefficient = r * r * r * dot / dim as f32;
                dx.extend((0..dim).map(|i| r * grad[i] * w[i] - row[i] * coefficient));
            },
        )?;
        Ok(Some(dx))
    }
}

/// Rotation of each position's (first half, second half) pairs by its angles; the inverse
/// rotation (by −angle) is the backward.
struct Rotary {
    cos: Vec<f32>,
    sin: Vec<f32>,
    half: usize,
    inverse: bool,
}

impl CustomOp1 for Rotary {
    fn name(&self) -> &'static str {
        "fused-rotary"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = elements(storage, layout, self.name())?;
        let (half, positions) = (self.half, self.cos.len() / self.half);
        let dims = layout.shape().dims();
        if dims.len() < 2 || dims[dims.len() - 1] != 2 * half || dims[dims.len() - 2] != positions {
            return Err(Error::Msg(format!(
                "fused-rotary: input {dims:?} does not match {positions} positions of {} dimensions",
                2 * half
            )));
        }
        let sign = if self.inverse { -1.0 } else { 1.0 };
        let mut y = vec![0f32; x.len()];
        for (block, out) in x
            .chunks_exact(2 * half)
            .zip(y.chunks_exact_mut(2 * half))
            .enumerate()
            .map(|(i, (b, o))| ((i % positions, b), o))
        {
            let (position, row) = block;
            let angles = position * half;
            for i in 0..half {
                let (c, s) = (self.cos[angles + i], sign * self.sin[angles + i]);
                let (a, b) = (row[i], row[i + half]);
                out[i] = a * c - b * s;
                out[i + half] = b * c + a * s;
            }
        }
        Ok(output(y, layout))
    }

    fn bwd(&self, _x: &Tensor, _y: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let inverse = Rotary {
            cos: self.cos.clone(),
            sin: self.sin.clone(),
            half: self.half,
            inverse: !self.inverse,
        };
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&inverse)?))
    }
}

struct CausalSoftmax {
    scale: f32,
    seq: usize,
    offset: usize,
}

impl CausalSoftmax {
    /// How many keys row `r` sees.
    fn visible(&self, r: usize, total: usize) -> usize {
        (self.offset + r % self.seq + 1).min(total)
    }
}

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "fused-causal-softmax"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = elements(storage, layout, self.name())?;
        let total = layout.shape().dims().last().copied().unwrap_or(1);
        let mut y = vec![0f32; x.len()];
        for (r, (row, out)) in x
            .chunks_exact(total)
            .zip(y.chunks_exact_mut(total))
            .enumerate()
        {
            let n = self.visible(r, total);
            let max = row[..n].iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v)) * self.scale;
            let mut sum = 0f32;
            for (o, v) in out[..n].iter_mut().zip(&row[..n]) {
                *o = (v * self.scale - max).exp();
                sum += *o;
            }
            out[..n].iter_mut().for_each(|o| *o /= sum);
        }
        Ok(output(y, layout))
    }

    /// dx = scale · y · (g − Σ g·y), row by row (masked entries have y = 0).
    fn bwd(&self, _x: &Tensor, y: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let total = y.dim(candle_core::D::Minus1)?;
        let name = "fused-softmax-backward";
        let dx = by_rows(y, grad, name, (total, total), |_, row, grad, dx| {
            let dot: f32 = row.iter().zip(grad).map(|(a, b)| a * b).sum();
            dx.extend(
                row.iter()
                    .zip(grad)
                    .map(|(p, d)| self.scale * p * (d - dot)),
            );
        })?;
        Ok(Some(dx))
    }
}

struct TargetLogProbs {
    targets: Vec<u32>,
}

/// (max, log Σ exp(x − max)) of one row.
fn log_sum_exp(row: &[f32]) -> (f32, f32) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
    (max, row.iter().map(|v| (v - max).exp()).sum::<f32>().ln())
}

impl TargetLogProbs {
    /// The rows of `x` with their target token, checked against the vocabulary.
    fn rows<'a>(
        &'a self,
        x: &'a [f32],
        layout: &Layout,
    ) -> candle_core::Result<impl Iterator<Item = (&'a [f32], usize)>> {
        let vocab = layout.shape().dims().last().copied().unwrap_or(1);
        if x.len() / vocab != self.targets.len() {
            return Err(Error::Msg(format!(
                "fused-target-log-probs: {} rows, {} targets",
                x.len() / vocab,
                self.targets.len()
            )));
        }
        if let Some(t) = self.targets.iter().find(|t| **t as usize >= vocab) {
            return Err(Error::Msg(format!(
                "fused-target-log-probs: target {t} outside a vocabulary of {vocab}"
            )));
        }
        Ok(x.chunks_exact(vocab)
            .zip(self.targets.iter().map(|t| *t as usize)))
    }
}

impl CustomOp1 for TargetLogProbs {
    fn name(&self) -> &'static str {
        "fused-target-log-probs"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = elements(storage, layout, self.name())?;
        let picked: Vec<f32> = self
            .rows(x, layout)?
            .map(|(row, target)| {
                let (max, log_sum) = log_sum_exp(row);
                row[target] - max - log_sum
            })
            .collect();
        Ok((CpuStorage::F32(picked), Shape::from(self.targets.len())))
    }

    /// d logits = g_r · (onehot(target_r) − softmax(row_r)).
    fn bwd(
        &self,
        logits: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let vocab = logits.dim(candle_core::D::Minus1)?;
        let name = "fused-target-log-probs-backward";
        let dx = by_rows(logits, grad, name, (vocab, 1), |r, row, grad, dx| {
            let (max, log_sum) = log_sum_exp(row);
            let start = dx.len();
            dx.extend(row.iter().map(|v| -grad[0] * (v - max - log_sum).exp()));
            dx[start + self.targets[r] as usize] += grad[0];
        })?;
        Ok(Some(dx))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var, D};

    use super::*;

    fn random(shape: &[usize], seed: u64) -> Tensor {
        let n: usize = shape.iter().product();
        // A fixed pseudo-random fill (no RNG state shared between tests).
        let values: Vec<f32> = (0..n as u64)
            .map(|i| {
                let h = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    ^ seed.wrapping_mul(0xBF58_476D_1CE4_E5B9);
                ((h >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
    }

    fn max_difference(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar()
            .unwrap()
    }

    /// Forward values and the gradient of Σ(y·probe) agree between the fused op and the
    /// composed reference.
    fn check(
        shape: &[usize],
        fused: impl Fn(&Tensor) -> Tensor,
        composed: impl Fn(&Tensor) -> Tensor,
    ) {
        let x = Var::from_tensor(&random(shape, 1)).unwrap();
        let probe = random(shape, 2);
        let y_fused = fused(x.as_tensor());
        let y_composed = composed(x.as_tensor());
        assert!(
            max_difference(&y_fused, &y_composed) < 1e-5,
            "forward differs"
        );
        let gradient = |y: &Tensor| {
            let loss = (y * &probe).unwrap().sum_all().unwrap();
            loss.backward().unwrap().get(x.as_tensor()).unwrap().clone()
        };
        let difference = max_difference(&gradient(&y_fused), &gradient(&y_composed));
        assert!(difference < 1e-5, "gradient differs by {difference}");
    }

    #[test]
    fn rms_norm_matches_the_composed_ops_forward_and_backward() {
        let weight = (random(&[16], 3) + 1.5).unwrap();
        check(
            &[3, 5, 16],
            |x| rms_norm(x, &weight, 1e-5).unwrap(),
            |x| {
                let mean_square = x.sqr().unwrap().mean_keepdim(D::Minus1).unwrap();
                let r = (mean_square + 1e-5).unwrap().sqrt().unwrap();
                x.broadcast_div(&r).unwrap().broadcast_mul(&weight).unwrap()
            },
        );
    }

    #[test]
    fn rotary_matches_the_composed_ops_forward_and_backward() {
        let (cos, sin) = (random(&[5, 4], 4), random(&[5, 4], 5));
        let full = |t: &Tensor| Tensor::cat(&[t, t], D::Minus1).unwrap();
        check(
            &[2, 3, 5, 8],
            |x| rotary(x, &cos, &sin).unwrap(),
            |x| {
                let x1 = x.narrow(D::Minus1, 0, 4).unwrap();
                let x2 = x.narrow(D::Minus1, 4, 4).unwrap();
                let rotated = Tensor::cat(&[&x2.neg().unwrap(), &x1], D::Minus1).unwrap();
                (x.broadcast_mul(&full(&cos)).unwrap()
                    + rotated.broadcast_mul(&full(&sin)).unwrap())
                .unwrap()
            },
        );
    }

    #[test]
    fn target_log_probs_match_log_softmax_then_gather_forward_and_backward() {
        let targets = Tensor::new(&[3u32, 0, 6, 6], &Device::Cpu).unwrap();
        let x = Var::from_tensor(&(random(&[4, 7], 6) * 4.0).unwrap()).unwrap();
        let probe = random(&[4], 7);
        let fused = target_log_probs(x.as_tensor(), &targets).unwrap();
        let composed = candle_nn::ops::log_softmax(x.as_tensor(), D::Minus1)
            .unwrap()
            .gather(&targets.unsqueeze(1).unwrap(), 1)
            .unwrap()
            .squeeze(1)
            .unwrap();
        assert!(max_difference(&fused, &composed) < 1e-5, "forward differs");
        let gradient = |y: &Tensor| {
            let loss = (y * &probe).unwrap().sum_all().unwrap();
            loss.backward().unwrap().get(x.as_tensor()).unwrap().clone()
        };
        assert!(max_difference(&gradient(&fused), &gradient(&composed)) < 1e-5);
        let outside = Tensor::new(&[3u32, 0, 6, 7], &Device::Cpu).unwrap();
        let error = target_log_probs(x.as_tensor(), &outside)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("target 7 outside a vocabulary of 7"),
            "{error}"
        );
    }

    #[test]
    fn causal_softmax_matches_mask_then_softmax_forward_and_backward() {
        // 2 query heads stacked per key/value head: rows are (head, position), 3 positions
        // after 2 cached ones, 5 keys.
        let (seq, offset, total) = (3, 2, 5);
        let mask: Vec<f32> = (0..2 * seq)
            .flat_map(|r| {
                (0..total).map(move |j| {
                    if j > offset + r % seq {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
            })
            .collect();
        let mask = Tensor::from_vec(mask, (2 * seq, total), &Device::Cpu).unwrap();
        check(
            &[2, 2 * seq, total],
            |x| causal_softmax(x, 0.5, seq, offset).unwrap(),
            |x| {
                let scores = (x * 0.5).unwrap().broadcast_add(&mask).unwrap();
                candle_nn::ops::softmax(&scores, D::Minus1).unwrap()
            },
        );
    }
}
