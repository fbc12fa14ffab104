//! LoRA (Hu et al. 2021): a frozen linear layer `W x + b` plus a trainable low-rank update
//! `(B A x)·α/r`. A starts random (PEFT's Kaiming-uniform with a = √5, bound 1/√in), B at
//! zero, so an untrained adapter leaves the model unchanged. Only A and B are [`Var`]s: the
//! base weights are plain tensors and receive no gradient.
//!
//! Adapter tensors are named as PEFT names them, less its `base_model.model.` prefix:
//! `model.layers.N.self_attn.q_proj.lora_A.weight` (A: [r, in], B: [out, r]).

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor, Var};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::model::Pass;

/// The projections LoRA can adapt, with their checkpoint names.
pub const ATTENTION_TARGETS: [&str; 4] = ["q_proj", "k_proj", "v_proj", "o_proj"];
/// The MLP projections.
pub const MLP_TARGETS: [&str; 3] = ["gate_proj", "up_proj", "down_proj"];

/// Which layers get adapters, and their size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraConfig {
    /// Rank r. Default: 8.
    pub rank: usize,
    /// α; the update is scaled by α/r. Default: 16.
    pub alpha: f64,
    /// Projection names (`q_proj`, ..., `down_proj`). Default: the attention projections.
    pub targets: Vec<String>,
    /// Seed of A's initialization. Default: 0.
    pub seed: u64,
}

impl Default for LoraConfig {
    fn default() -> Self {
        LoraConfig {
            rank: 8,
            alpha: 16.0,
            targets: ATTENTION_TARGETS.iter().map(|s| s.to_string()).collect(),
            seed: 0,
        }
    }
}

impl LoraConfig {
    /// α/r.
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }

    /// Rejects unknown targets and a zero rank.
    pub fn check(&self) -> Result<()> {
        if self.rank == 0 {
            return Err(TrainError::Invalid("LoRA rank must be at least 1".into()));
        }
        for target in &self.targets {
            if !ATTENTION_TARGETS.contains(&target.as_str())
                && !MLP_TARGETS.contains(&target.as_str())
            {
                return Err(TrainError::Invalid(format!(
                    "unknown LoRA target `{target}`; expected one of {} {}",
                    ATTENTION_TARGETS.join(", "),
                    MLP_TARGETS.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// The trainable tensors of a model, in a fixed order, by name.
#[derive(Debug, Default, Clone)]
pub struct Adapters {
    pub vars: Vec<(String, Var)>,
}

impl Adapters {
    /// The variable called `name`.
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// How many scalars are trainable.
    pub fn parameter_count(&self) -> usize {
        self.vars.iter().map(|(_, v)| v.elem_count()).sum()
    }
}

/// One adapter: A [r, in] and B [out, r].
#[derive(Debug, Clone)]
pub struct Lora {
    pub a: Var,
    pub b: Var,
    pub scale: f64,
}

impl Lora {
    /// A fresh adapter for a layer `in_dim → out_dim`, registered in `adapters` under `prefix`.
    pub fn new(
        prefix: &str,
        in_dim: usize,
        out_dim: usize,
        config: &LoraConfig,
        rng: &mut StdRng,
        adapters: &mut Adapters,
        device: &Device,
    ) -> Result<Lora> {
        let bound = 1.0 / (in_dim as f64).sqrt();
        let values: Vec<f32> = (0..config.rank * in_dim)
            .map(|_| rng.random_range(-bound..bound) as f32)
            .collect();
        let a = Var::from_tensor(&Tensor::from_vec(values, (config.rank, in_dim), device)?)?;
        let b = Var::zeros((out_dim, config.rank), DType::F32, device)?;
        adapters
            .vars
            .push((format!("{prefix}.lora_A.weight"), a.clone()));
        adapters
            .vars
            .push((format!("{prefix}.lora_B.weight"), b.clone()));
        Ok(Lora {
            a,
            b,
            scale: config.scale(),
        })
    }

    /// B·A·scale, the update to add to W for a merged model.
    pub fn delta(&self) -> Result<Tensor> {
        Ok((self.b.as_tensor().matmul(self.a.as_tensor())? * self.scale)?)
    }
}

/// A seeded generator for adapter initialization.
pub fn init_rng(config: &LoraConfig) -> StdRng {
    StdRng::seed_from_u64(config.seed)
}

/// A frozen linear layer with an optional adapter.
#[derive(Debug, Clone)]
pub struct Linear {
    /// W^T, [in, out], contiguous: CPU matmuls with a contiguous right-hand side are faster,
    /// most of all for the few rows of batched decoding.
    pub weight_t: Tensor,
    pub bias: Option<Tensor>,
    pub lora: Option<Lora>,
    /// W quantized for decoding steps (see [`DecodeWeights`]), when asked for.
    pub decode: Option<std::sync::Arc<QMatMul>>,
}

/// The form of the frozen weights in decoding steps (one new position per row, no graph).
/// Decoding one sequence streams every weight from memory for each token, so its speed is the
/// weights' size: Q8_0 holds a quarter of f32's bytes. Prompts and training keep f32 (Q8_0
/// multiplies several times slower there), and every decoding step of every row takes the same
/// form, so a sample still does not depend on its batch.
/// Named `f32` and `q8_0` in configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecodeWeights {
    /// The f32 weights (default): exact, fastest for batched decoding.
    #[default]
    F32,
    /// 8-bit blocks (llama.cpp's Q8_0), quantized from the f32 weights at load; activations
    /// are quantized per row as well. 2.7× faster decoding of one sequence here, 1.3–1.5× of 16.
    Q8_0,
}

impl DecodeWeights {
    /// `W` [out, in] in this form, or none for f32.
    pub fn quantize(self, weight: &Tensor) -> Result<Option<std::sync::Arc<QMatMul>>> {
        Ok(match self {
            DecodeWeights::F32 => None,
            DecodeWeights::Q8_0 => Some(std::sync::Arc::new(QMatMul::from_qtensor(
                QTensor::quantize(&weight.contiguous()?, GgmlDType::Q8_0)?,
            )?)),
        })
    }
}

impl Linear {
    /// A layer from W [out, in].
    pub fn new(weight: &Tensor, bias: Option<Tensor>, lora: Option<Lora>) -> Result<Linear> {
        Ok(Linear {
            weight_t: weight.t()?.contiguous()?,
            bias,
            lora,
            decode: None,
        })
    }

    /// W [out, in], with the adapter merged in when `merged`.
    pub fn weight(&self, merged: bool) -> Result<Tensor> {
        let weight = self.weight_t.t()?.contiguous()?;
        match (&self.lora, merged) {
            (Some(lora), true) => Ok((weight + lora.delta()?)?),
            _ => Ok(weight),
        }
    }

    /// `x W^T + b (+ x A^T B^T · scale)` over the last dimension of `x`.
    pub fn forward(&self, x: &Tensor, pass: Pass) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let in_dim = *dims.last().expect("a linear input has dimensions");
        let rows = x.elem_count() / in_dim;
        let x2 = x.reshape((rows, in_dim))?;
        let mut y = match (&self.decode, pass) {
            (Some(quantized), Pass::Decode) => quantized.forward(&x2)?,
            _ => frozen_matmul(&x2, &self.weight_t)?,
        };
        if let Some(bias) = &self.bias {
            y = y.broadcast_add(bias)?;
        }
        if let (Pass::Train | Pass::Infer | Pass::Decode, Some(lora)) = (pass, &self.lora) {
            // Detached, the adapter is a constant: the pass records nothing to differentiate.
            let (a, b) = match pass {
                Pass::Infer | Pass::Decode => {
                    (lora.a.as_tensor().detach(), lora.b.as_tensor().detach())
                }
                _ => (lora.a.as_tensor().clone(), lora.b.as_tensor().clone()),
            };
            let low = x2.matmul(&a.t()?)?;
            let update = low.matmul(&b.t()?)?;
            y = (y + (update * lora.scale)?)?;
        }
        let mut out_dims = dims;
        *out_dims.last_mut().expect("non-empty") = self.weight_t.dim(1)?;
        Ok(y.reshape(out_dims)?)
    }
}

/// `x · weight_t` for a weight that never trains. candle's matmul backward computes the
/// gradient of both operands, so a frozen weight would cost a second matmul per layer for a
/// gradient nobody reads; this op's backward computes only `x`'s. Used on CPU when `x` is
/// part of a graph being differentiated; otherwise the plain matmul.
pub fn frozen_matmul(x: &Tensor, weight_t: &Tensor) -> Result<Tensor> {
    if x.track_op() && x.device().is_cpu() && x.dtype() == DType::F32 {
        Ok(x.apply_op1(FrozenMatmul {
            weight_t: weight_t.clone(),
        })?)
    } else {
        Ok(x.matmul(weight_t)?)
    }
}

struct FrozenMatmul {
    weight_t: Tensor,
}

impl candle_core::CustomOp1 for FrozenMatmul {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (start, end) = layout.contiguous_offsets().ok_or_else(|| {
            candle_core::Error::Msg("frozen-matmul needs a contiguous input".into())
        })?;
        let x = Tensor::from_slice(
            &storage.as_slice::<f32>()?[start..end],
            layout.shape(),
            &Device::Cpu,
        )?;
        let y = x.matmul(&self.weight_t)?;
        let (out, _) = y.storage_and_layout();
        match &*out {
            candle_core::Storage::Cpu(cpu) => Ok((cpu.clone(), y.shape().clone())),
            _ => Err(candle_core::Error::Msg(
                "frozen-matmul runs on the CPU".into(),
            )),
        }
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.matmul(&self.weight_t.t()?)?))
    }
}
