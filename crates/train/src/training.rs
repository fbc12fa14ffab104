//! A LoRA adapter trained on a rows file, written in PEFT's layout: what `tracealign train`
//! does, as a library call.
//!
//! The output directory receives `adapter_config.json` and `adapter_model.safetensors`,
//! `metrics.jsonl` (one line per step), `checkpoint/` (adapter, optimizer moments and step,
//! rewritten every `save_every` steps and at the end; a resumed call continues from it) and,
//! with `merge`, `merged/` (full weights with the adapter folded in). A resumed run repeats
//! the steps after its checkpoint, so their old metrics lines are dropped first: the
//! learning curve has each step once.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::batch::Sequence;
use crate::data::{detect_kind, read_dpo, read_sft, RowKind};
use crate::error::TrainError;
use crate::load::{load_model, save_merged, LoadedModel};
use crate::lora::{LoraConfig, ATTENTION_TARGETS, MLP_TARGETS};
use crate::progress::ProgressEvent;
use crate::trainer::{Examples, TrainConfig, Trainer};
use crate::Device;

/// What to optimize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Decide from the rows: DPO when the first has `chosen`, else SFT.
    Auto,
    /// Token-weighted cross-entropy on `{prompt, completion, weights}` rows.
    Sft,
    /// DPO on `{prompt, chosen, rejected}` pairs.
    Dpo,
}

/// How to train (serialized, it fingerprints a training run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// The base model: a directory (config.json, *.safetensors, tokenizer.json) or a .gguf.
    pub model: PathBuf,
    /// Default: [`Objective::Auto`].
    pub objective: Objective,
    /// Optimizer steps. Default: 100.
    pub steps: usize,
    /// Peak learning rate (after warm-up; cosine decay to a tenth of it). Default: 2e-4.
    pub lr: f64,
    /// Warm-up steps. Default: 0.
    pub warmup: usize,
    /// LoRA rank. Default: 8.
    pub rank: usize,
    /// LoRA alpha (the update is scaled by alpha/rank). Default: 16.
    pub alpha: f64,
    /// Also adapt the MLP projections (gate/up/down), not only q/k/v/o. Default: false.
    pub mlp: bool,
    /// Rows per micro-batch. Default: 4.
    pub batch_size: usize,
    /// Micro-batches per optimizer step. Default: 1.
    pub grad_accum: usize,
    /// Clip the gradient's global norm (0: off). Default: 1.
    pub max_grad_norm: f64,
    /// Cut rows to this many tokens. Default: 512.
    pub max_len: usize,
    /// DPO's β. Default: 0.1.
    pub beta: f64,
    /// Weighted DPO: completion tokens under the diff/fault mask weigh 1 + this (0: plain
    /// DPO). Default: 0.
    pub mask_weight: f64,
    /// Seed of the data order and of the adapters' initialization. Default: 0.
    pub seed: u64,
    /// Write a checkpoint every this many steps (0: only at the end). Default: 0.
    pub save_every: usize,
    /// Also write `merged/`: full weights with the adapter merged in. Default: false.
    pub merge: bool,
    /// Threads for tensor math (`None`: one per core; see [`device`]).
    pub threads: Option<usize>,
}

impl TrainSettings {
    /// The defaults for `model`.
    pub fn new(model: impl Into<PathBuf>) -> TrainSettings {
        TrainSettings {
            model: model.into(),
            objective: Objective::Auto,
            steps: 100,
            lr: 2e-4,
            warmup: 0,
            rank: 8,
            alpha: 16.0,
            mlp: false,
            batch_size: 4,
            grad_accum: 1,
            max_grad_norm: 1.0,
            max_len: 512,
            beta: 0.1,
            mask_weight: 0.0,
            seed: 0,
            save_every: 0,
            merge: false,
            threads: None,
        }
    }

    fn lora(&self) -> LoraConfig {
        let mut targets: Vec<String> = ATTENTION_TARGETS.iter().map(|s| s.to_string()).collect();
        if self.mlp {
            targets.extend(MLP_TARGETS.iter().map(|s| s.to_string()));
        }
        LoraConfig {
            rank: self.rank,
            alpha: self.alpha,
            targets,
            seed: self.seed,
        }
    }

    fn train_config(&self) -> TrainConfig {
        TrainConfig {
            steps: self.steps,
            batch_size: self.batch_size,
            grad_accum: self.grad_accum,
            lr: self.lr,
            warmup: self.warmup,
            max_grad_norm: self.max_grad_norm,
            seed: self.seed,
            ..TrainConfig::default()
        }
    }
}

/// Why training stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainingError {
    #[error("cannot load the model {}", model.display())]
    Load {
        model: PathBuf,
        #[source]
        source: TrainError,
    },
    /// Rows of the other kind fail on a missing field: the error says which kind was read.
    #[error("reading {kind} rows from {} (is the objective right?)", data.display())]
    Rows {
        data: PathBuf,
        kind: &'static str,
        #[source]
        source: TrainError,
    },
    #[error(
        "no row of {} keeps a completion token within max_len {max_len}; raise max_len or \
         shorten the prompts",
        data.display()
    )]
    NothingToLearn { data: PathBuf, max_len: usize },
    #[error("cannot resume from {}", checkpoint.display())]
    Resume {
        checkpoint: PathBuf,
        #[source]
        source: TrainError,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Train(#[from] TrainError),
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSummary {
    /// Where the adapter is.
    pub out: PathBuf,
    /// SFT rows or DPO pairs trained on.
    pub examples: usize,
    /// SFT rows left out: no completion token within `max_len` (a long prompt can leave none
    /// of its completion, and a batch of them would have nothing to learn).
    pub left_out: usize,
    /// The step a resumed run continued from (0: a fresh run), and the steps done in all.
    pub resumed_at: usize,
    pub steps: usize,
    /// The last step's loss.
    pub final_loss: Option<f64>,
}

impl std::fmt::Display for TrainSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the adapter of {} steps on {} examples",
            self.steps, self.examples
        )?;
        if let Some(loss) = self.final_loss {
            write!(f, " (last loss {loss:.4})")?;
        }
        write!(f, " → {}", self.out.display())
    }
}

/// CPU with `threads` workers (candle reads `RAYON_NUM_THREADS` when it first starts them,
/// so only the first call in a process decides); CUDA when the crate was built with its
/// `cuda` feature and a GPU is present.
pub fn device(threads: Option<usize>) -> Result<Device, TrainError> {
    if let Some(threads) = threads {
        std::env::set_var("RAYON_NUM_THREADS", threads.max(1).to_string());
    }
    Ok(Device::cuda_if_available(0)?)
}

/// Trains an adapter on the rows of `data` into `out` (see the module docs); with `resume`,
/// continues from `out/checkpoint` when there is one. `on_progress` hears of each step.
pub fn train_adapter(
    settings: &TrainSettings,
    data: &Path,
    out: &Path,
    resume: bool,
    on_progress: &mut dyn FnMut(ProgressEvent),
) -> Result<TrainSummary, TrainingError> {
    let load_error = |source| TrainingError::Load {
        model: settings.model.clone(),
        source,
    };
    let device = device(settings.threads).map_err(load_error)?;
    let loaded =
        load_model(&settings.model, Some(&settings.lora()), &device).map_err(load_error)?;
    let kind = match settings.objective {
        Objective::Auto => detect_kind(data)?,
        Objective::Sft => RowKind::Sft,
        Objective::Dpo => RowKind::Dpo,
    };
    let rows_error = |kind| {
        move |source| TrainingError::Rows {
            data: data.to_path_buf(),
            kind,
            source,
        }
    };
    let mut left_out = 0;
    let examples = match kind {
        RowKind::Sft => {
            let rows =
                read_sft(data, &loaded.tokenizer, settings.max_len).map_err(rows_error("SFT"))?;
            let (kept, dropped) = learnable(rows);
            if kept.is_empty() && dropped > 0 {
                return Err(TrainingError::NothingToLearn {
                    data: data.to_path_buf(),
                    max_len: settings.max_len,
                });
            }
            left_out = dropped;
            Examples::Sft(kept)
        }
        RowKind::Dpo => Examples::Dpo {
            pairs: read_dpo(
                data,
                &loaded.tokenizer,
                settings.max_len,
                settings.mask_weight,
            )
            .map_err(rows_error("DPO"))?,
            beta: settings.beta,
        },
    };
    let examples_count = match &examples {
        Examples::Sft(rows) => rows.len(),
        Examples::Dpo { pairs, .. } => pairs.len(),
    };
    let pad_id = loaded.tokenizer.pad_id;
    let tokenizer = loaded.tokenizer.clone();
    let mut trainer = Trainer::new(loaded.model, examples, settings.train_config(), pad_id)?;
    std::fs::create_dir_all(out).map_err(|source| TrainingError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let checkpoint = out.join("checkpoint");
    if resume && checkpoint.join("trainer_state.json").exists() {
        trainer
            .resume(&checkpoint)
            .map_err(|source| TrainingError::Resume {
                checkpoint: checkpoint.clone(),
                source,
            })?;
    }
    let resumed_at = trainer.state.step;
    let final_loss = run_steps(&mut trainer, settings, out, resume, on_progress)?;
    let base = Some(settings.model.display().to_string());
    trainer.save_checkpoint(&checkpoint, base.clone())?;
    crate::peft::save_adapter(&trainer.model, out, base)?;
    let steps = trainer.state.step;
    if settings.merge {
        let loaded = LoadedModel {
            model: trainer.model,
            tokenizer,
        };
        save_merged(&loaded, &out.join("merged"))?;
    }
    Ok(TrainSummary {
        out: out.to_path_buf(),
        examples: examples_count,
        left_out,
        resumed_at,
        steps,
        final_loss,
    })
}

/// Steps until done, one metrics line per step; the last step's loss.
fn run_steps(
    trainer: &mut Trainer,
    settings: &TrainSettings,
    out: &Path,
    resume: bool,
    on_progress: &mut dyn FnMut(ProgressEvent),
) -> Result<Option<f64>, TrainingError> {
    let metrics_path = out.join("metrics.jsonl");
    let write_error = |source| TrainingError::Write {
        path: metrics_path.clone(),
        source,
    };
    // A resumed run repeats the steps after its checkpoint: their old lines go.
    let kept = match resume {
        true => metrics_until(&metrics_path, trainer.state.step),
        false => String::new(),
    };
    std::fs::write(&metrics_path, kept).map_err(write_error)?;
    let mut metrics = std::fs::OpenOptions::new()
        .append(true)
        .open(&metrics_path)
        .map_err(write_error)?;
    on_progress(ProgressEvent::Begin {
        total: settings.steps,
        done: trainer.state.step,
    });
    let checkpoint = out.join("checkpoint");
    let base = Some(settings.model.display().to_string());
    let mut last = None;
    while !trainer.finished() {
        let step = trainer.step()?;
        let line = serde_json::to_string(&step).expect("metrics serialize");
        writeln!(metrics, "{line}").map_err(write_error)?;
        let mut status = format!("loss {:.4} {:.0} tok/s", step.loss, step.tokens_per_second);
        if let Some(margin) = step.margin {
            status.push_str(&format!(" margin {margin:.3}"));
        }
        on_progress(ProgressEvent::Advance { status });
        last = Some(step.loss);
        if settings.save_every > 0 && step.step % settings.save_every == 0 {
            trainer.save_checkpoint(&checkpoint, base.clone())?;
        }
    }
    Ok(last)
}

/// The lines of a metrics file up to and including `step` (none when it cannot be read).
pub fn metrics_until(path: &Path, step: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let step_of = |line: &str| {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        value["step"].as_u64()
    };
    text.lines()
        .take_while(|line| step_of(line).is_some_and(|s| s <= step as u64))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The rows with a weighted token left after cutting them to `max_len`, and how many were
/// left out.
fn learnable(rows: Vec<Sequence>) -> (Vec<Sequence>, usize) {
    let total = rows.len();
    let kept: Vec<Sequence> = (rows.into_iter())
        .filter(|row| row.weights.iter().any(|&w| w != 0.0))
        .collect();
    let dropped = total - kept.len();
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_runs_metrics_keep_only_the_steps_up_to_its_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        std::fs::write(
            &path,
            "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n{\"step\":4,\"lo",
        )
        .unwrap();
        assert_eq!(metrics_until(&path, 2), "{\"step\":1}\n{\"step\":2}\n");
        assert_eq!(metrics_until(&dir.path().join("none"), 2), "");
    }

    #[test]
    fn a_tiny_model_trains_and_resumes_to_the_same_step_count() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("tiny");
        crate::tiny::write_tiny_model(&model, "llama").unwrap();
        let data = dir.path().join("rows.jsonl");
        let rows: Vec<String> = (0..4)
            .map(|i| {
                serde_json::json!({"prompt": format!("def f{i}(x):\n"), "completion": "    return x\n"})
                    .to_string()
            })
            .collect();
        std::fs::write(&data, rows.join("\n")).unwrap();
        let mut settings = TrainSettings::new(&model);
        settings.steps = 2;
        settings.batch_size = 2;
        settings.threads = Some(1);
        let out = dir.path().join("out");
        let mut events = Vec::new();
        let summary =
            train_adapter(&settings, &data, &out, false, &mut |e| events.push(e)).unwrap();
        assert_eq!(
            (summary.steps, summary.examples, summary.resumed_at),
            (2, 4, 0)
        );
        assert_eq!(events[0], ProgressEvent::Begin { total: 2, done: 0 });
        assert_eq!(events.len(), 3);
        assert!(out.join("adapter_model.safetensors").exists());
        settings.steps = 3;
        let summary = train_adapter(&settings, &data, &out, true, &mut |_| {}).unwrap();
        assert_eq!((summary.steps, summary.resumed_at), (3, 2));
        let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
        assert_eq!(metrics.lines().count(), 3);
    }
}
