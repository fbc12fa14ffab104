//! A Llama-family decoder (Llama, SmolLM2, Mistral; Qwen2 with its q/k/v biases) written with
//! differentiable candle ops only, so gradients reach every adapter: rotary embeddings by
//! `narrow`/`cat` (the half-split form of Hugging Face checkpoints), softmax by
//! `candle_nn::ops::softmax`, RMSNorm by hand. candle-transformers' fused `rope`,
//! `softmax_last_dim` and `rms_norm` have no backward pass.
//!
//! Weights are looked up by their Hugging Face names (`model.layers.N.self_attn.q_proj.weight`,
//! ...), so `vb.pp`-style paths can be read off the code. An absent `lm_head.weight` means
//! the output layer is tied to the embedding.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor, D};

pub use crate::cache::Cache;
use crate::config::Config;
use crate::error::{Result, TrainError};
use crate::kernels;
use crate::lora::{frozen_matmul, init_rng, Adapters, DecodeWeights, Linear, Lora, LoraConfig};

/// Named tensors with the file they came from (for errors).
#[derive(Debug, Clone, Default)]
pub struct Weights {
    pub origin: PathBuf,
    pub tensors: HashMap<String, Tensor>,
}

impl Weights {
    /// The tensor `name`, which must have `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let error = |message: String| TrainError::Tensor {
            path: self.origin.clone(),
            name: name.to_string(),
            message,
        };
        let tensor = self
            .tensors
            .get(name)
            .ok_or_else(|| error("missing from the checkpoint".into()))?;
        if tensor.dims() != shape {
            return Err(error(format!(
                "has shape {:?}, the config implies {:?}",
                tensor.dims(),
                shape
            )));
        }
        Ok(tensor.to_dtype(DType::F32)?)
    }

    /// Whether the checkpoint holds `name`.
    pub fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
}

/// RMSNorm: candle's fused kernel outside a differentiated graph, ours (with a backward) in one
/// on the CPU, else written out in differentiable ops.
fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Result<Tensor> {
    if !x.track_op() {
        return Ok(candle_nn::ops::rms_norm(
            &x.contiguous()?,
            weight,
            eps as f32,
        )?);
    }
    if kernels::applies(x) {
        return Ok(kernels::rms_norm(x, weight, eps)?);
    }
    let mean_square = x.sqr()?.mean_keepdim(D::Minus1)?;
    let normed = x.broadcast_div(&(mean_square + eps)?.sqrt()?)?;
    Ok(normed.broadcast_mul(weight)?)
}

/// The rotation angles of a run of positions: cos/sin [seq, head_dim] (each half repeated) for
/// the differentiable form, and their first halves [seq, head_dim/2] for candle's fused kernel.
/// With per-row positions (a padded batch) they are [batch, 1, seq, head_dim] and
/// [batch, seq, head_dim/2].
struct Angles {
    cos: Tensor,
    sin: Tensor,
    cos_half: Tensor,
    sin_half: Tensor,
}

/// Half-split rotary embedding: `x·cos + rotate_half(x)·sin`. Outside a differentiated graph
/// (generation, DPO's reference pass) candle's fused `rope` does the same in one op.
fn rotary(x: &Tensor, angles: &Angles) -> Result<Tensor> {
    if !x.track_op() {
        return Ok(candle_nn::rotary_emb::rope(
            x,
            &angles.cos_half,
            &angles.sin_half,
        )?);
    }
    if kernels::applies(x) && angles.cos_half.rank() == 2 {
        return Ok(kernels::rotary(x, &angles.cos_half, &angles.sin_half)?);
    }
    let half = x.dim(D::Minus1)? / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
    Ok((x.broadcast_mul(&angles.cos)? + rotated.broadcast_mul(&angles.sin)?)?)
}

/// Repeats key/value heads for grouped-query attention: [b, kv, t, d] → [b, kv·n, t, d].
fn repeat_kv(x: Tensor, n: usize) -> Result<Tensor> {
    if n == 1 {
        return Ok(x);
    }
    let (b, kv, t, d) = x.dims4()?;
    Ok(Tensor::cat(&vec![&x; n], 2)?.reshape((b, kv * n, t, d))?)
}

#[derive(Debug, Clone)]
struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

#[derive(Debug, Clone)]
struct Mlp {
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

#[derive(Debug, Clone)]
struct DecoderLayer {
    self_attn: Attention,
    mlp: Mlp,
    input_layernorm: Tensor,
    post_attention_layernorm: Tensor,
}

/// Builds linear layers by name, adding adapters to the targeted ones.
struct LayerBuilder<'a> {
    weights: &'a Weights,
    lora: Option<&'a LoraConfig>,
    rng: rand::rngs::StdRng,
    adapters: Adapters,
    device: Device,
}

impl LayerBuilder<'_> {
    fn linear(
        &mut self,
        prefix: &str,
        in_dim: usize,
        out_dim: usize,
        bias: bool,
    ) -> Result<Linear> {
        let weight = self
            .weights
            .get(&format!("{prefix}.weight"), &[out_dim, in_dim])?
            .to_device(&self.device)?;
        let bias = match bias {
            true => Some(
                self.weights
                    .get(&format!("{prefix}.bias"), &[out_dim])?
                    .to_device(&self.device)?,
            ),
            false => None,
        };
        let short = prefix.rsplit('.').next().expect("a dotted name");
        let lora = match self.lora {
            Some(config) if config.targets.iter().any(|t| t == short) => Some(Lora::new(
                prefix,
                in_dim,
                out_dim,
                config,
                &mut self.rng,
                &mut self.adapters,
                &self.device,
            )?),
            _ => None,
        };
        Linear::new(&weight, bias, lora)
    }

    fn norm(&self, name: &str, dim: usize) -> Result<Tensor> {
        Ok(self.weights.get(name, &[dim])?.to_device(&self.device)?)
    }
}

/// Which weights a forward pass uses, and whether it records a graph for gradients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The base model alone (DPO's reference).
    Base,
    /// Adapters on, recorded for backward (training).
    Train,
    /// Adapters on, nothing recorded (generation, evaluation): the adapters enter as
    /// constants, so no op builds a graph and attention takes the inference kernels.
    Infer,
    /// [`Pass::Infer`] for one new position per row (a decoding step): the frozen weights may
    /// take their decoding form ([`DecodeWeights`]).
    Decode,
}

impl Pass {
    /// The pass of a forward over `positions` new positions: an inference pass over one is a
    /// decoding step.
    fn over(self, positions: usize) -> Pass {
        match (self, positions) {
            (Pass::Infer, 1) => Pass::Decode,
            _ => self,
        }
    }
}

/// The decoder with its adapters.
#[derive(Debug, Clone)]
pub struct Model {
    pub config: Config,
    embed_tokens: Tensor,
    layers: Vec<DecoderLayer>,
    norm: Tensor,
    /// The output layer transposed, [hidden, vocab] (see [`Linear::weight_t`]).
    lm_head_t: Tensor,
    /// The output layer for decoding steps (see [`DecodeWeights`]).
    lm_head_decode: Option<std::sync::Arc<candle_core::quantized::QMatMul>>,
    cos: Tensor,
    sin: Tensor,
    /// The trainable tensors (empty without LoRA).
    pub adapters: Adapters,
    pub lora: Option<LoraConfig>,
    device: Device,
}

impl Model {
    /// Builds the decoder from `weights`, with fresh adapters when `lora` is given.
    pub fn new(
        config: &Config,
        weights: &Weights,
        lora: Option<&LoraConfig>,
        device: &Device,
    ) -> Result<Model> {
        config.check()?;
        if let Some(lora) = lora {
            lora.check()?;
        }
        let (hidden, inter) = (config.hidden_size, config.intermediate_size);
        let head_dim = config.head_dim();
        let (heads, kv_heads) = (config.num_attention_heads, config.kv_heads());
        let mut builder = LayerBuilder {
            weights,
            lora,
            rng: init_rng(lora.unwrap_or(&LoraConfig::default())),
            adapters: Adapters::default(),
            device: device.clone(),
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let (qkv_bias, o_bias) = (config.qkv_bias(), config.o_bias());
            let self_attn = Attention {
                q_proj: builder.linear(
                    &format!("{p}.self_attn.q_proj"),
                    hidden,
                    heads * head_dim,
                    qkv_bias,
                )?,
                k_proj: builder.linear(
                    &format!("{p}.self_attn.k_proj"),
                    hidden,
                    kv_heads * head_dim,
                    qkv_bias,
                )?,
                v_proj: builder.linear(
                    &format!("{p}.self_attn.v_proj"),
                    hidden,
                    kv_heads * head_dim,
                    qkv_bias,
                )?,
                o_proj: builder.linear(
                    &format!("{p}.self_attn.o_proj"),
                    heads * head_dim,
                    hidden,
                    o_bias,
                )?,
                heads,
                kv_heads,
                head_dim,
            };
            let mlp = Mlp {
                gate_proj: builder.linear(&format!("{p}.mlp.gate_proj"), hidden, inter, false)?,
                up_proj: builder.linear(&format!("{p}.mlp.up_proj"), hidden, inter, false)?,
                down_proj: builder.linear(&format!("{p}.mlp.down_proj"), inter, hidden, false)?,
            };
            layers.push(DecoderLayer {
                self_attn,
                mlp,
                input_layernorm: builder.norm(&format!("{p}.input_layernorm.weight"), hidden)?,
                post_attention_layernorm: builder
                    .norm(&format!("{p}.post_attention_layernorm.weight"), hidden)?,
            });
        }
        let embed_tokens = weights
            .get("model.embed_tokens.weight", &[config.vocab_size, hidden])?
            .to_device(device)?;
        let lm_head = if weights.has("lm_head.weight") && !config.tie_word_embeddings {
            weights
                .get("lm_head.weight", &[config.vocab_size, hidden])?
                .to_device(device)?
        } else {
            embed_tokens.clone()
        };
        let (cos, sin) = rotary_tables(config, device)?;
        Ok(Model {
            config: config.clone(),
            embed_tokens,
            layers,
            norm: builder.norm("model.norm.weight", hidden)?,
            lm_head_t: lm_head.t()?.contiguous()?,
            lm_head_decode: None,
            cos,
            sin,
            adapters: builder.adapters,
            lora: lora.cloned(),
            device: device.clone(),
        })
    }

    /// Keeps the frozen weights of decoding steps in `form` as well (the f32 ones stay for
    /// prompts and training). Costs the quantized copies' memory.
    pub fn set_decode_weights(&mut self, form: DecodeWeights) -> Result<()> {
        for layer in &mut self.layers {
            let a = &mut layer.self_attn;
            let m = &mut layer.mlp;
            for linear in [
                &mut a.q_proj,
                &mut a.k_proj,
                &mut a.v_proj,
                &mut a.o_proj,
                &mut m.gate_proj,
                &mut m.up_proj,
                &mut m.down_proj,
            ] {
                linear.decode = form.quantize(&linear.weight(false)?)?;
            }
        }
        self.lm_head_decode = form.quantize(&self.lm_head_t.t()?)?;
        Ok(())
    }

    /// The device the model lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Logits [batch, seq, vocab] for `input_ids` [batch, seq], adapters on, no cache.
    pub fn forward(&self, input_ids: &Tensor) -> Result<Tensor> {
        self.run(input_ids, None, Pass::Train, false)
    }

    /// Logits of the base model alone (adapters off): DPO's reference.
    pub fn forward_base(&self, input_ids: &Tensor) -> Result<Tensor> {
        self.run(input_ids, None, Pass::Base, false)
    }

    /// Logits [batch, vocab] of the last position, appending to `cache` (generation).
    pub fn forward_cached(&self, input_ids: &Tensor, cache: &mut Cache) -> Result<Tensor> {
        let logits = self.run(input_ids, Some(cache), Pass::Infer, true)?;
        Ok(logits.squeeze(1)?)
    }

    fn run(
        &self,
        input_ids: &Tensor,
        cache: Option<&mut Cache>,
        pass: Pass,
        last_only: bool,
    ) -> Result<Tensor> {
        let mut x = self.hidden(input_ids, cache, pass)?;
        if last_only {
            let seq = x.dim(1)?;
            x = x.narrow(1, seq - 1, 1)?;
        }
        let (b, t, h) = x.dims3()?;
        let rows = x.reshape((b * t, h))?;
        let logits = match (&self.lm_head_decode, pass.over(input_ids.dim(1)?)) {
            (Some(quantized), Pass::Decode) => candle_core::Module::forward(&**quantized, &rows)?,
            _ => self.output(&rows)?,
        };
        Ok(logits.reshape((b, t, self.config.vocab_size))?)
    }

    /// The final normalised hidden states [batch, seq, hidden] (before the output layer),
    /// appending to `cache` when given.
    pub fn hidden(
        &self,
        input_ids: &Tensor,
        mut cache: Option<&mut Cache>,
        pass: Pass,
    ) -> Result<Tensor> {
        let (batch, seq) = input_ids.dims2()?;
        let pass = pass.over(seq);
        let offset = cache.as_ref().map_or(0, |c| c.len());
        if offset + seq > self.config.max_position_embeddings {
            return Err(TrainError::Invalid(format!(
                "sequence of {} positions exceeds max_position_embeddings {}",
                offset + seq,
                self.config.max_position_embeddings
            )));
        }
        if let Some(cache) = cache.as_deref_mut() {
            cache.layers.resize(self.layers.len(), None);
        }
        let mut x = self
            .embed_tokens
            .index_select(&input_ids.flatten_all()?, 0)?
            .reshape((batch, seq, self.config.hidden_size))?;
        let angles = self.angles(cache.as_deref(), batch, seq)?;
        let mask = match cache.as_deref() {
            Some(cache) if cache.is_padded() => {
                Mask::Padded(cache.mask(batch, seq, &self.device)?)
            }
            _ => match causal_mask(seq, offset, &self.device)? {
                Some(mask) => Mask::Causal(mask),
                None => Mask::None,
            },
        };
        for (i, layer) in self.layers.iter().enumerate() {
            let slot = cache.as_deref_mut().map(|c| &mut c.layers[i]);
            x = layer.forward(&x, &angles, &mask, slot, pass, self.config.rms_norm_eps)?;
        }
        rms_norm(&x, &self.norm, self.config.rms_norm_eps)
    }

    /// The rotation angles of `seq` new positions: the same run for every row, or each row's
    /// own when the cache is padded.
    fn angles(&self, cache: Option<&Cache>, batch: usize, seq: usize) -> Result<Angles> {
        let half = self.config.head_dim() / 2;
        let offset = cache.map_or(0, |c| c.len());
        let (cos, sin) = match cache {
            Some(cache) if cache.is_padded() => {
                let positions = Tensor::new(cache.positions(batch, seq).as_slice(), &self.device)?;
                let dim = self.config.head_dim();
                let per_row = |table: &Tensor| -> Result<Tensor> {
                    Ok(table
                        .index_select(&positions, 0)?
                        .reshape((batch, 1, seq, dim))?)
                };
                (per_row(&self.cos)?, per_row(&self.sin)?)
            }
            _ => (
                self.cos.narrow(0, offset, seq)?,
                self.sin.narrow(0, offset, seq)?,
            ),
        };
        // The fused kernel takes [seq, half] or [batch, seq, half].
        let first_half = |t: &Tensor| -> Result<Tensor> {
            let t = t.narrow(D::Minus1, 0, half)?;
            Ok(match t.rank() {
                4 => t.squeeze(1)?,
                _ => t,
            }
            .contiguous()?)
        };
        Ok(Angles {
            cos_half: first_half(&cos)?,
            sin_half: first_half(&sin)?,
            cos,
            sin,
        })
    }

    /// Logits [rows, vocab] of hidden states [rows, hidden].
    pub fn output(&self, hidden: &Tensor) -> Result<Tensor> {
        frozen_matmul(hidden, &self.lm_head_t)
    }

    /// Named tensors of the base model with the adapters merged in (`W + B·A·α/r`), in
    /// Hugging Face names; the tied output layer is left out.
    pub fn merged_weights(&self) -> Result<HashMap<String, Tensor>> {
        let mut out = HashMap::new();
        out.insert(
            "model.embed_tokens.weight".to_string(),
            self.embed_tokens.clone(),
        );
        out.insert("model.norm.weight".to_string(), self.norm.clone());
        if !self.config.tie_word_embeddings {
            out.insert(
                "lm_head.weight".to_string(),
                self.lm_head_t.t()?.contiguous()?,
            );
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let p = format!("model.layers.{i}");
            let a = &layer.self_attn;
            let m = &layer.mlp;
            let linears = [
                ("self_attn.q_proj", &a.q_proj),
                ("self_attn.k_proj", &a.k_proj),
                ("self_attn.v_proj", &a.v_proj),
                ("self_attn.o_proj", &a.o_proj),
                ("mlp.gate_proj", &m.gate_proj),
                ("mlp.up_proj", &m.up_proj),
                ("mlp.down_proj", &m.down_proj),
            ];
            for (name, linear) in linears {
                out.insert(format!("{p}.{name}.weight"), linear.weight(true)?);
                if let Some(bias) = &linear.bias {
                    out.insert(format!("{p}.{name}.bias"), bias.clone());
                }
            }
            out.insert(
                format!("{p}.input_layernorm.weight"),
                layer.input_layernorm.clone(),
            );
            out.insert(
                format!("{p}.post_attention_layernorm.weight"),
                layer.post_attention_layernorm.clone(),
            );
        }
        Ok(out)
    }
}

impl DecoderLayer {
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &self,
        x: &Tensor,
        angles: &Angles,
        mask: &Mask,
        cache: Option<&mut Option<(Tensor, Tensor)>>,
        pass: Pass,
        eps: f64,
    ) -> Result<Tensor> {
        let h = rms_norm(x, &self.input_layernorm, eps)?;
        let x = (x + self.self_attn.forward(&h, angles, mask, cache, pass)?)?;
        let h = rms_norm(&x, &self.post_attention_layernorm, eps)?;
        Ok((&x + self.mlp.forward(&h, pass)?)?)
    }
}

impl Mlp {
    fn forward(&self, x: &Tensor, pass: Pass) -> Result<Tensor> {
        let gate = self.gate_proj.forward(x, pass)?.silu()?;
        let up = self.up_proj.forward(x, pass)?;
        self.down_proj.forward(&(gate * up)?, pass)
    }
}

impl Attention {
    fn forward(
        &self,
        x: &Tensor,
        angles: &Angles,
        mask: &Mask,
        cache: Option<&mut Option<(Tensor, Tensor)>>,
        pass: Pass,
    ) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let split = |y: Tensor, heads: usize| -> Result<Tensor> {
            Ok(y.reshape((b, t, heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let q = split(self.q_proj.forward(x, pass)?, self.heads)?;
        let k = split(self.k_proj.forward(x, pass)?, self.kv_heads)?;
        let v = split(self.v_proj.forward(x, pass)?, self.kv_heads)?;
        let q = rotary(&q, angles)?;
        let mut k = rotary(&k, angles)?;
        let mut v = v;
        if let Some(slot) = cache {
            if let Some((past_k, past_v)) = slot.as_ref() {
                k = Tensor::cat(&[past_k, &k], 2)?;
                v = Tensor::cat(&[past_v, &v], 2)?;
            }
            *slot = Some((k.clone(), v.clone()));
        }
        let out = match (q.track_op(), mask) {
            (true, Mask::Causal(_)) if kernels::applies(&q) => self.attend_causal(&q, &k, &v)?,
            (true, mask) => self.attend(&q, k, v, mask.tensor())?,
            (false, mask) => self.attend_grouped(&q, &k, &v, mask.tensor())?,
        };
        let out = out
            .transpose(1, 2)?
            .reshape((b, t, self.heads * self.head_dim))?;
        self.o_proj.forward(&out, pass)
    }
}

impl Attention {
    /// softmax(q kᵀ/√d) v under the plain causal mask, differentiable, with the fused CPU
    /// softmax and the query heads of a key/value head stacked as in [`Self::attend_grouped`]
    /// (no copies of keys and values, no mask tensor).
    fn attend_causal(&self, q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor> {
        let (b, _, t, d) = q.dims4()?;
        let n_rep = self.heads / self.kv_heads;
        let offset = k.dim(2)? - t;
        let q = q.reshape((b, self.kv_heads, n_rep * t, d))?;
        let scores = q.matmul(&k.t()?)?;
        let probs = kernels::causal_softmax(&scores, 1.0 / (d as f64).sqrt(), t, offset)?;
        Ok(probs.matmul(v)?.reshape((b, self.heads, t, d))?)
    }

    /// softmax(q kᵀ/√d + mask) v with the key/value heads repeated to match the queries:
    /// [b, heads, t, d]. Differentiable.
    fn attend(&self, q: &Tensor, k: Tensor, v: Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let n_rep = self.heads / self.kv_heads;
        let k = repeat_kv(k, n_rep)?;
        let v = repeat_kv(v, n_rep)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let mut scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?;
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        // `ops::softmax` is differentiable; the fused `softmax_last_dim` has no backward.
        Ok(candle_nn::ops::softmax(&scores, D::Minus1)?.matmul(&v)?)
    }

    /// The same without copying keys and values per query head (inference): the query heads
    /// that share a key/value head are stacked as extra query rows of it, so the cache is read
    /// as it is. Query head h uses key/value head h / n_rep, as in `repeat_kv`.
    fn attend_grouped(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (b, _, t, d) = q.dims4()?;
        let n_rep = self.heads / self.kv_heads;
        let q = q.reshape((b, self.kv_heads, n_rep * t, d))?;
        let scale = 1.0 / (d as f64).sqrt();
        let mut scores = (q.matmul(&k.t()?)? * scale)?;
        if let Some(mask) = mask {
            // [.., t, total] → [.., n_rep·t, total], rows in (rep, position) order like q's.
            let mask = match mask.rank() {
                2 => mask.repeat((n_rep, 1))?,
                _ => mask.repeat((1, 1, n_rep, 1))?,
            };
            scores = scores.broadcast_add(&mask)?;
        }
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        Ok(probs.matmul(v)?.reshape((b, self.heads, t, d))?)
    }
}

/// The attention mask of a forward pass.
enum Mask {
    /// One new position: it sees everything cached.
    None,
    /// Each position sees itself and what precedes it (the tensor: -inf above the diagonal).
    Causal(Tensor),
    /// A left-padded batch: each row also hides its padding.
    Padded(Tensor),
}

impl Mask {
    fn tensor(&self) -> Option<&Tensor> {
        match self {
            Mask::None => None,
            Mask::Causal(mask) | Mask::Padded(mask) => Some(mask),
        }
    }
}

/// -inf above the diagonal, shifted by `offset` cached positions; none for one new position.
fn causal_mask(seq: usize, offset: usize, device: &Device) -> Result<Option<Tensor>> {
    if seq == 1 {
        return Ok(None);
    }
    let total = seq + offset;
    let values: Vec<f32> = (0..seq)
        .flat_map(|i| {
            (0..total).map(move |j| {
                if j > i + offset {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
        })
        .collect();
    Ok(Some(Tensor::from_vec(values, (seq, total), device)?))
}

/// cos and sin of every position's rotation angles, [max_positions, head_dim], each half
/// repeated (the half-split layout).
fn rotary_tables(config: &Config, device: &Device) -> Result<(Tensor, Tensor)> {
    let dim = config.head_dim();
    let inv_freq: Vec<f32> = (0..dim / 2)
        .map(|i| 1.0 / config.rope_theta.powf(2.0 * i as f64 / dim as f64) as f32)
        .collect();
    let positions = config.max_position_embeddings;
    let inv_freq = Tensor::from_vec(inv_freq, (1, dim / 2), device)?;
    let t = Tensor::arange(0u32, positions as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((positions, 1))?;
    let freqs = t.matmul(&inv_freq)?;
    let freqs = Tensor::cat(&[&freqs, &freqs], D::Minus1)?;
    Ok((freqs.cos()?, freqs.sin()?))
}

/// Reads every `*.safetensors` file of `dir` (sharded checkpoints too).
pub fn read_safetensors(dir: &Path, device: &Device) -> Result<Weights> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(crate::error::io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("adapter_"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(TrainError::Invalid(format!(
            "{} holds no *.safetensors file",
            dir.display()
        )));
    }
    let mut tensors = HashMap::new();
    for file in &files {
        let loaded =
            candle_core::safetensors::load(file, device).map_err(|e| TrainError::Tensor {
                path: file.clone(),
                name: "*".into(),
                message: e.to_string(),
            })?;
        tensors.extend(loaded);
    }
    Ok(Weights {
        origin: dir.to_path_buf(),
        tensors,
    })
}
