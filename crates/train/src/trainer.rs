//! The training loop: micro-batches drawn in a seeded order, gradients accumulated over
//! `grad_accum` micro-batches, clipped by global norm, then one AdamW step at the scheduled
//! learning rate. Only the adapters train.
//!
//! The order of examples is a pure function of (seed, step): epoch e visits a permutation
//! seeded by `seed + e`. Resuming at step s therefore replays exactly the batches an
//! uninterrupted run would have seen.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use candle_core::Tensor;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::batch::{collate, Sequence};
use crate::checkpoint::{load_state, save_state, TrainerState};
use crate::dpo::{dpo_loss, reference_log_probs, sequence_log_probs, stacked, DpoPair};
use crate::error::{Result, TrainError};
use crate::loss::sft_loss;
use crate::model::{Model, Pass};
use crate::optim::{accumulate, clip_grad_norm, AdamW, AdamWConfig, Schedule};
use crate::peft::{load_adapter, save_adapter};

/// What the trainer learns from.
#[derive(Debug, Clone)]
pub enum Examples {
    /// Weighted cross-entropy on sequences.
    Sft(Vec<Sequence>),
    /// DPO with temperature β.
    Dpo { pairs: Vec<DpoPair>, beta: f64 },
}

impl Examples {
    fn len(&self) -> usize {
        match self {
            Examples::Sft(s) => s.len(),
            Examples::Dpo { pairs, .. } => pairs.len(),
        }
    }
}

/// How to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Optimizer steps. Default: 100.
    pub steps: usize,
    /// Examples per micro-batch. Default: 4.
    pub batch_size: usize,
    /// Micro-batches per optimizer step. Default: 1.
    pub grad_accum: usize,
    /// Peak learning rate. Default: 2e-4.
    pub lr: f64,
    /// Warm-up steps. Default: 0.
    pub warmup: usize,
    /// Final learning rate as a share of the peak. Default: 0.1.
    pub min_lr_ratio: f64,
    /// Clip the gradient's global norm to this (0: no clipping). Default: 1.
    pub max_grad_norm: f64,
    /// Seed of the data order. Default: 0.
    pub seed: u64,
    pub adamw: AdamWConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            steps: 100,
            batch_size: 4,
            grad_accum: 1,
            lr: 2e-4,
            warmup: 0,
            min_lr_ratio: 0.1,
            max_grad_norm: 1.0,
            seed: 0,
            adamw: AdamWConfig::default(),
        }
    }
}

/// What one optimizer step measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepMetrics {
    /// 1-based.
    pub step: usize,
    pub loss: f64,
    pub lr: f64,
    pub grad_norm: f64,
    /// Real tokens processed.
    pub tokens: usize,
    pub seconds: f64,
    pub tokens_per_second: f64,
    /// DPO: the mean reward margin and the share of pairs with a positive margin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
}

/// A model being trained.
pub struct Trainer {
    pub model: Model,
    pub config: TrainConfig,
    examples: Examples,
    /// DPO's reference log-probabilities per pair, computed when a pair is first used (a
    /// short run over a large preference set reads only part of it).
    reference: RefCell<Vec<Option<(f32, f32)>>>,
    optimizer: AdamW,
    schedule: Schedule,
    pad_id: u32,
    /// Optimizer steps done, and their losses.
    pub state: TrainerState,
    order: HashMap<usize, Vec<usize>>,
}

impl Trainer {
    /// A trainer.
    pub fn new(
        model: Model,
        examples: Examples,
        config: TrainConfig,
        pad_id: u32,
    ) -> Result<Trainer> {
        if examples.len() == 0 {
            return Err(TrainError::Invalid("no training examples".into()));
        }
        if model.adapters.vars.is_empty() {
            return Err(TrainError::Invalid(
                "the model has no adapters to train".into(),
            ));
        }
        let reference = RefCell::new(match &examples {
            Examples::Dpo { pairs, .. } => vec![None; pairs.len()],
            Examples::Sft(_) => Vec::new(),
        });
        let optimizer = AdamW::new(model.adapters.vars.clone(), config.adamw)?;
        let schedule = Schedule {
            peak: config.lr,
            warmup: config.warmup,
            total: config.steps,
            min_ratio: config.min_lr_ratio,
        };
        Ok(Trainer {
            model,
            config,
            examples,
            reference,
            optimizer,
            schedule,
            pad_id,
            state: TrainerState {
                step: 0,
                losses: Vec::new(),
            },
            order: HashMap::new(),
        })
    }

    /// Whether all steps are done.
    pub fn finished(&self) -> bool {
        self.state.step >= self.config.steps
    }

    /// The example indices of global micro-batch `k`.
    fn micro_batch(&mut self, k: usize) -> Vec<usize> {
        let n = self.examples.len();
        let size = self.config.batch_size.max(1);
        (k * size..(k + 1) * size)
            .map(|i| {
                let (epoch, position) = (i / n, i % n);
                let seed = self.config.seed;
                let order = self.order.entry(epoch).or_insert_with(|| {
                    let mut order: Vec<usize> = (0..n).collect();
                    order.shuffle(&mut StdRng::seed_from_u64(seed.wrapping_add(epoch as u64)));
                    order
                });
                order[position]
            })
            .collect()
    }

    /// One optimizer step.
    pub fn step(&mut self) -> Result<StepMetrics> {
        let start = Instant::now();
        let accum = self.config.grad_accum.max(1);
        let batches: Vec<Vec<usize>> = (0..accum)
            .map(|j| self.micro_batch(self.state.step * accum + j))
            .collect();
        let mut grads: HashMap<String, Tensor> = HashMap::new();
        let (mut loss_sum, mut tokens) = (0.0, 0);
        let mut margins = Vec::new();
        let normaliser = self.normaliser(&batches)?;
        for indices in &batches {
            let (loss, n_tokens, margin) = self.micro_loss(indices, normaliser)?;
            loss_sum += loss.to_scalar::<f32>()? as f64;
            tokens += n_tokens;
            margins.extend(margin);
            let store = loss.backward()?;
            accumulate(&mut grads, &store, &self.model.adapters.vars)?;
        }
        let grad_norm = match self.config.max_grad_norm > 0.0 {
            true => clip_grad_norm(&mut grads, self.config.max_grad_norm)?,
            false => crate::optim::global_norm(&grads)?,
        };
        let lr = self.schedule.lr(self.state.step);
        self.optimizer.step(&grads, lr)?;
        self.state.step += 1;
        self.state.losses.push(loss_sum);
        let seconds = start.elapsed().as_secs_f64();
        let (margin, accuracy) = match margins.is_empty() {
            true => (None, None),
            false => {
                let n = margins.len() as f64;
                let mean = margins.iter().map(|&m| m as f64).sum::<f64>() / n;
                let won = margins.iter().filter(|&&m| m > 0.0).count() as f64 / n;
                (Some(mean), Some(won))
            }
        };
        Ok(StepMetrics {
            step: self.state.step,
            loss: loss_sum,
            lr,
            grad_norm,
            tokens,
            seconds,
            tokens_per_second: tokens as f64 / seconds.max(1e-9),
            margin,
            accuracy,
        })
    }

    /// What the step's loss is divided by: the total weight (SFT) or the pair count (DPO), over
    /// all its micro-batches.
    fn normaliser(&self, batches: &[Vec<usize>]) -> Result<f64> {
        let indices = batches.iter().flatten();
        Ok(match &self.examples {
            Examples::Sft(rows) => indices
                .map(|&i| {
                    let s = &rows[i];
                    (1..s.input_ids.len())
                        .filter(|&t| s.labels[t] != crate::loss::IGNORE_INDEX)
                        .map(|t| f64::from(s.weights[t]))
                        .sum::<f64>()
                })
                .sum(),
            Examples::Dpo { .. } => indices.count() as f64,
        })
    }

    /// The (normalised) loss of one micro-batch, its token count and DPO margins.
    fn micro_loss(&self, indices: &[usize], normaliser: f64) -> Result<(Tensor, usize, Vec<f32>)> {
        match &self.examples {
            Examples::Sft(rows) => {
                let seqs: Vec<&Sequence> = indices.iter().map(|&i| &rows[i]).collect();
                let batch = collate(&seqs, self.pad_id, self.model.device())?;
                let loss = sft_loss(&self.model, &batch, normaliser)?;
                Ok((loss, batch.tokens, Vec::new()))
            }
            Examples::Dpo { pairs, beta } => {
                let chosen: Vec<&DpoPair> = indices.iter().map(|&i| &pairs[i]).collect();
                let seqs = stacked(&chosen);
                let tokens = seqs.iter().map(|s| s.input_ids.len()).sum();
                let policy = sequence_log_probs(&self.model, &seqs, self.pad_id, Pass::Train)?;
                let reference = self.reference_of(pairs, indices)?;
                let (loss, margins) = dpo_loss(&policy, &reference, *beta)?;
                Ok(((loss / normaliser)?, tokens, margins))
            }
        }
    }

    /// The mean loss over all examples, adapters on, no update (SFT: weighted CE per row; DPO:
    /// the DPO loss per pair).
    pub fn evaluate(&self) -> Result<f64> {
        let n = self.examples.len();
        let mut total = 0.0;
        for i in 0..n {
            let normaliser = self.normaliser(&[vec![i]])?;
            let (loss, _, _) = self.micro_loss(&[i], normaliser)?;
            total += loss.to_scalar::<f32>()? as f64;
        }
        Ok(total / n as f64)
    }

    /// The DPO margins of every pair under the current adapters.
    pub fn margins(&self) -> Result<Vec<f32>> {
        let Examples::Dpo { pairs, beta } = &self.examples else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (i, pair) in pairs.iter().enumerate() {
            let policy =
                sequence_log_probs(&self.model, &stacked(&[pair]), self.pad_id, Pass::Infer)?;
            out.extend(dpo_loss(&policy, &self.reference_of(pairs, &[i])?, *beta)?.1);
        }
        Ok(out)
    }

    /// The reference log-probabilities of `indices`' pairs, computed (together, adapters off)
    /// for those not seen before.
    fn reference_of(&self, pairs: &[DpoPair], indices: &[usize]) -> Result<Vec<(f32, f32)>> {
        let mut cache = self.reference.borrow_mut();
        let missing: Vec<&DpoPair> = (indices.iter())
            .filter(|&&i| cache[i].is_none())
            .map(|&i| &pairs[i])
            .collect();
        if !missing.is_empty() {
            let values = reference_log_probs(&self.model, &missing, self.pad_id)?;
            let todo = indices.iter().filter(|&&i| cache[i].is_none()).copied();
            for (i, value) in todo.collect::<Vec<_>>().into_iter().zip(values) {
                cache[i] = Some(value);
            }
        }
        Ok(indices
            .iter()
            .map(|&i| cache[i].expect("computed"))
            .collect())
    }

    /// Saves the adapter (PEFT layout), the optimizer and the step to `dir`.
    pub fn save_checkpoint(&self, dir: &Path, base: Option<String>) -> Result<()> {
        save_adapter(&self.model, dir, base)?;
        save_state(dir, &self.optimizer.state(), &self.state)
    }

    /// Restores a checkpoint written by [`Trainer::save_checkpoint`].
    pub fn resume(&mut self, dir: &Path) -> Result<()> {
        load_adapter(&self.model, dir)?;
        let (optimizer, state) = load_state(dir, self.model.device())?;
        self.optimizer.restore(&optimizer, state.step)?;
        self.state = state;
        Ok(())
    }
}
