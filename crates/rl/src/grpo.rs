//! Online GRPO on a LoRA adapter: per step, `prompts` items of a [`Task`] × `samples`
//! completions sampled from the current policy, each scored by execution, credited per
//! token ([`crate::credit`]), and trained on with the clipped policy-gradient loss
//! ([`tracealign_train::policy`]) in one update. The tasks: writing programs for problems
//! ([`ProgramTask`]: each sample run traced against the tests, localized, compared with the
//! reference trace) and execution prediction ([`crate::prediction::PredictionTask`]: each
//! answer judged by running it, the checker's verdict an exact reward).
//!
//! Choices:
//! - One update per batch of samples (μ = 1, as DeepSeekMath's GRPO): the ratio's old
//!   log-probabilities are the policy's own, detached.
//! - Groups whose samples carry no credit at all are left out of the update (DAPO's dynamic
//!   sampling, without resampling): their only gradient would be the KL term's. The share of
//!   groups that carry a signal is the step's first diagnostic.
//! - Token-level normalisation over the step's tokens in the loss.
//! - A sample's tokens are the tokenizer's encoding of its completion (plus the
//!   end-of-sequence token when it stopped there), the tokens the executor's facts are placed
//!   on; the stop sequence that ended it is not trained on.
//! - Deterministic: the problems of step s and every sample's generator are functions of
//!   (seed, s), so a run resumed from its step-s checkpoint continues as the uninterrupted
//!   run would, metrics included.

use std::collections::HashMap;
use std::io::Write;
use std::ops::{ControlFlow, Range};
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Tensor;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tracealign_core::completion::stop_sequences;
use tracealign_core::Problem;
use tracealign_dataset::align::Aligner;
use tracealign_train::checkpoint::{load_state, save_state, TrainerState};
use tracealign_train::generate::{
    generate_batched, Completion, Request, SamplingConfig, StopReason,
};
use tracealign_train::optim::{accumulate, clip_grad_norm, AdamW, AdamWConfig, Schedule};
use tracealign_train::peft::{load_adapter, save_adapter};
use tracealign_train::policy::{policy_loss, PolicyExample, PolicyLossConfig};
use tracealign_train::{DecodeWeights, LoadedModel, LoraConfig, TrainError};

use crate::credit::{assign, Credit, CreditSettings, Rollout, SignalShare, TokenCredit};
use crate::rollout::{Candidate, ScoreError, Scoring};

/// How to train (serialized, it fingerprints a run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrpoSettings {
    pub credit: Credit,
    pub credit_settings: CreditSettings,
    /// Optimizer steps. Default 20.
    pub steps: usize,
    /// Problems per step (B). Default 4.
    pub prompts: usize,
    /// Completions per problem (G, the group). Default 4.
    pub samples: usize,
    /// Sampling temperature. Default 1.
    pub temperature: f64,
    /// Default 256.
    pub max_new_tokens: usize,
    /// Peak learning rate (cosine decay to a tenth). Default 1e-4.
    pub lr: f64,
    /// ε of the clipped ratio. Default 0.2.
    pub clip: f64,
    /// β of the k3 KL penalty to the base; 0: none. Default 0.02.
    pub kl_beta: f64,
    /// Sequences per forward-backward pass. Default 4.
    pub micro_batch: usize,
    /// Default 1.
    pub max_grad_norm: f64,
    pub lora: LoraConfig,
    /// Decoding steps' weights (`q8_0`: 8-bit, faster sampling on CPU). Default f32.
    pub decode_weights: DecodeWeights,
    /// Seed of the problems' order and the samples. Default 0.
    pub seed: u64,
}

impl GrpoSettings {
    /// Defaults with `credit`, LoRA from `lora`.
    pub fn new(credit: Credit, lora: LoraConfig) -> GrpoSettings {
        GrpoSettings {
            credit,
            credit_settings: CreditSettings::default(),
            steps: 20,
            prompts: 4,
            samples: 4,
            temperature: 1.0,
            max_new_tokens: 256,
            lr: 1e-4,
            clip: 0.2,
            kl_beta: 0.02,
            micro_batch: 4,
            max_grad_norm: 1.0,
            lora,
            decode_weights: DecodeWeights::F32,
            seed: 0,
        }
    }
}

/// What one step did and measured (a line of `metrics.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrpoStep {
    /// 1-based.
    pub step: usize,
    /// Mean scalar reward of the step's samples (under the mode's scheme).
    pub reward: f64,
    /// Share of the samples that passed every test.
    pub passed: f64,
    /// Share of groups with any non-zero token advantage.
    pub signal_groups: f64,
    /// Share of the tokens in the loss with a non-zero advantage.
    pub signal_tokens: f64,
    /// Mean k3 KL to the base over the tokens trained on (0 when nothing was).
    pub kl: f64,
    pub loss: f64,
    pub grad_norm: f64,
    pub lr: f64,
    /// Completions trained on (those of groups with a signal).
    pub trained: usize,
    /// Tokens sampled.
    pub tokens: usize,
    pub seconds_sampling: f64,
    /// Running, tracing, localizing and crediting the samples.
    pub seconds_execution: f64,
    /// Forward, backward and the optimizer step.
    pub seconds_update: f64,
}

/// Why training stopped.
#[derive(Debug, thiserror::Error)]
pub enum GrpoError {
    #[error("no training problems")]
    NoProblems,
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot tokenize a completion of {problem}: {message}")]
    Tokenize { problem: String, message: String },
}

/// A run's ending.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrpoSummary {
    pub out: PathBuf,
    pub resumed_at: usize,
    pub steps: usize,
    pub history: Vec<GrpoStep>,
}

/// What GRPO trains on: items with prompts, and a group of completions of one item scored
/// by execution into what credit assignment reads.
pub trait Task {
    /// Items to draw prompts from.
    fn items(&self) -> usize;
    /// Item `i`'s name (a problem or row id), in sample ids and errors.
    fn key(&self, i: usize) -> &str;
    /// The text the completions of item `i` continue.
    fn prompt(&self, i: usize) -> String;
    /// Where a completion of item `i` ends.
    fn stops(&self, i: usize) -> Vec<String>;
    /// Item `i`'s completions scored, in order.
    fn score(
        &self,
        i: usize,
        candidates: &[Candidate],
        credit: Credit,
    ) -> Result<Vec<Rollout>, ScoreError>;
}

/// Writing programs: a problem's samples run traced against its tests and scored
/// ([`Scoring`]).
pub struct ProgramTask<'a> {
    pub problems: &'a [Problem],
    pub scoring: &'a Scoring<'a>,
}

impl Task for ProgramTask<'_> {
    fn items(&self) -> usize {
        self.problems.len()
    }

    fn key(&self, i: usize) -> &str {
        &self.problems[i].id
    }

    fn prompt(&self, i: usize) -> String {
        self.problems[i].prompt.trim_end().to_string()
    }

    fn stops(&self, i: usize) -> Vec<String> {
        (stop_sequences(&self.problems[i]).iter())
            .map(|s| s.to_string())
            .collect()
    }

    fn score(
        &self,
        _: usize,
        candidates: &[Candidate],
        credit: Credit,
    ) -> Result<Vec<Rollout>, ScoreError> {
        let scored = self.scoring.score(candidates, credit)?;
        Ok(scored.into_iter().map(|s| s.rollout).collect())
    }
}

/// The policy being trained and what it trains with.
pub struct Grpo<'a> {
    pub settings: &'a GrpoSettings,
    pub loaded: LoadedModel,
    pub task: &'a dyn Task,
    /// Named in the saved adapter's `base_model_name_or_path`.
    pub base: Option<String>,
}

impl Grpo<'_> {
    /// Trains into `out` (adapter, `checkpoint/`, `metrics.jsonl`); with `resume`,
    /// continues from `out/checkpoint`. `on_step` hears of each step once it is
    /// checkpointed, and may stop the run there (`Break`: as if it were killed, the final
    /// adapter is not written).
    pub fn train(
        mut self,
        out: &Path,
        resume: bool,
        on_step: &mut dyn FnMut(&GrpoStep) -> ControlFlow<()>,
    ) -> Result<GrpoSummary, GrpoError> {
        if self.task.items() == 0 {
            return Err(GrpoError::NoProblems);
        }
        let settings = self.settings;
        self.loaded
            .model
            .set_decode_weights(settings.decode_weights)?;
        let vars = self.loaded.model.adapters.vars.clone();
        let mut optimizer = AdamW::new(vars, AdamWConfig::default())?;
        let checkpoint = out.join("checkpoint");
        let mut history: Vec<GrpoStep> = Vec::new();
        let write = |path: &Path| {
            let path = path.to_path_buf();
            move |source| GrpoError::Write { path, source }
        };
        std::fs::create_dir_all(out).map_err(write(out))?;
        let metrics_path = out.join("metrics.jsonl");
        if resume && checkpoint.join("trainer_state.json").exists() {
            load_adapter(&self.loaded.model, &checkpoint)?;
            let (state, trainer) = load_state(&checkpoint, self.loaded.model.device())?;
            optimizer.restore(&state, trainer.step)?;
            let kept = tracealign_train::training::metrics_until(&metrics_path, trainer.step);
            history = (kept.lines())
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect();
            history.truncate(trainer.step);
        }
        let resumed_at = history.len();
        let kept: String = (history.iter())
            .map(|s| serde_json::to_string(s).expect("serializes") + "\n")
            .collect();
        std::fs::write(&metrics_path, kept).map_err(write(&metrics_path))?;
        let schedule = Schedule {
            peak: settings.lr,
            warmup: 0,
            total: settings.steps,
            min_ratio: 0.1,
        };
        let aligner = Aligner::new(self.loaded.tokenizer.inner.clone());
        for step in history.len()..settings.steps {
            let lr = schedule.lr(step);
            let record = self.step(step, lr, &aligner, &mut optimizer)?;
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(&metrics_path)
                .map_err(write(&metrics_path))?;
            let line = serde_json::to_string(&record).expect("serializes");
            writeln!(file, "{line}").map_err(write(&metrics_path))?;
            history.push(record);
            save_adapter(&self.loaded.model, &checkpoint, self.base.clone())?;
            let state = TrainerState {
                step: step + 1,
                losses: history.iter().map(|s| s.loss).collect(),
            };
            save_state(&checkpoint, &optimizer.state(), &state)?;
            if on_step(history.last().expect("pushed")).is_break() {
                return Ok(GrpoSummary {
                    out: out.to_path_buf(),
                    resumed_at,
                    steps: history.len(),
                    history,
                });
            }
        }
        save_adapter(&self.loaded.model, out, self.base.clone())?;
        Ok(GrpoSummary {
            out: out.to_path_buf(),
            resumed_at,
            steps: history.len(),
            history,
        })
    }

    /// The items of 0-based `step`: the next `prompts` of a permutation per epoch.
    fn items_of(&self, step: usize) -> Vec<usize> {
        let (n, size) = (self.task.items(), self.settings.prompts.max(1));
        let mut orders: HashMap<usize, Vec<usize>> = HashMap::new();
        (step * size..(step + 1) * size)
            .map(|i| {
                let (epoch, position) = (i / n, i % n);
                let order = orders.entry(epoch).or_insert_with(|| {
                    let mut order: Vec<usize> = (0..n).collect();
                    let seed = self.settings.seed.wrapping_add(epoch as u64);
                    order.shuffle(&mut StdRng::seed_from_u64(seed));
                    order
                });
                order[position]
            })
            .collect()
    }

    fn step(
        &mut self,
        step: usize,
        lr: f64,
        aligner: &Aligner,
        optimizer: &mut AdamW,
    ) -> Result<GrpoStep, GrpoError> {
        let settings = self.settings;
        let items = self.items_of(step);
        let started = Instant::now();
        let prompts: Vec<String> = items.iter().map(|&i| self.task.prompt(i)).collect();
        let completions = self.sample(step, &items, &prompts)?;
        let seconds_sampling = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut groups = Vec::new();
        let mut examples = Vec::new();
        let (mut rewards, mut passed, mut tokens) = (Vec::new(), 0, 0);
        for (g, &item) in items.iter().enumerate() {
            let group = &completions[g];
            tokens += group.iter().map(|c| c.tokens).sum::<usize>();
            let eos = self.loaded.tokenizer.eos_ids.first().copied();
            let key = self.task.key(item);
            let (candidates, ids) = candidates(aligner, eos, key, &prompts[g], step, group)?;
            let rollouts = self.task.score(item, &candidates, settings.credit)?;
            rewards.extend(rollouts.iter().map(|r| r.reward));
            passed += rollouts.iter().filter(|r| r.passed).count();
            let credits = assign(settings.credit, &rollouts, &settings.credit_settings);
            if credits.iter().any(carries_signal) {
                let prompt_ids = self.loaded.tokenizer.encode(&prompts[g])?;
                for (credit, completion_ids) in credits.iter().zip(&ids) {
                    examples.push(PolicyExample::new(
                        &prompt_ids,
                        completion_ids,
                        &credit.mask,
                        &credit.advantages,
                    ));
                }
            }
            groups.push(credits);
        }
        let share = SignalShare::of(&groups);
        let seconds_execution = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let (loss, kl, grad_norm) = self.update(&examples, lr, optimizer)?;
        let n = rewards.len().max(1) as f64;
        Ok(GrpoStep {
            step: step + 1,
            reward: rewards.iter().sum::<f64>() / n,
            passed: passed as f64 / n,
            signal_groups: share.groups,
            signal_tokens: share.tokens,
            kl,
            loss,
            grad_norm,
            lr,
            trained: examples.len(),
            tokens,
            seconds_sampling,
            seconds_execution,
            seconds_update: started.elapsed().as_secs_f64(),
        })
    }

    /// `samples` completions of each item, sample k of item g at step s drawn with a
    /// generator seeded by (seed, s, g).
    fn sample(
        &self,
        step: usize,
        items: &[usize],
        prompts: &[String],
    ) -> Result<Vec<Vec<Completion>>, GrpoError> {
        let settings = self.settings;
        let requests: Vec<Request> = (items.iter().zip(prompts).enumerate())
            .map(|(g, (&item, prompt))| Request {
                prompt: prompt.clone(),
                n: settings.samples,
                seed: settings
                    .seed
                    .wrapping_mul(1_000_003)
                    .wrapping_add((step * settings.prompts.max(1) + g) as u64),
                stop: self.task.stops(item),
            })
            .collect();
        let config = SamplingConfig {
            temperature: settings.temperature,
            top_p: 1.0,
            max_new_tokens: settings.max_new_tokens,
            seed: settings.seed,
            stop: Vec::new(),
        };
        let mut out: Vec<Vec<Completion>> = vec![Vec::new(); requests.len()];
        let rows = requests.len() * settings.samples;
        generate_batched(
            &self.loaded.model,
            &self.loaded.tokenizer,
            &requests,
            &config,
            rows,
            |i, c| {
                out[i] = c;
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// One optimizer step on `examples` (none: no step); (loss, mean KL, gradient norm).
    fn update(
        &self,
        examples: &[PolicyExample],
        lr: f64,
        optimizer: &mut AdamW,
    ) -> Result<(f64, f64, f64), GrpoError> {
        let normaliser: usize = examples.iter().map(PolicyExample::live_tokens).sum();
        if normaliser == 0 {
            return Ok((0.0, 0.0, 0.0));
        }
        let settings = self.settings;
        let config = PolicyLossConfig {
            clip: settings.clip,
            kl_beta: settings.kl_beta,
        };
        let model = &self.loaded.model;
        let pad_id = self.loaded.tokenizer.pad_id;
        let mut grads: HashMap<String, Tensor> = HashMap::new();
        let (mut loss_sum, mut kl_sum) = (0.0, 0.0);
        let live: Vec<&PolicyExample> = examples.iter().filter(|e| e.live_tokens() > 0).collect();
        for chunk in live.chunks(settings.micro_batch.max(1)) {
            let (loss, stats) =
                policy_loss(model, chunk, pad_id, &config, normaliser as f64, None)?;
            loss_sum += loss.to_scalar::<f32>().map_err(TrainError::from)? as f64;
            kl_sum += stats.kl_sum;
            let store = loss.backward().map_err(TrainError::from)?;
            accumulate(&mut grads, &store, &model.adapters.vars)?;
        }
        let grad_norm = clip_grad_norm(&mut grads, settings.max_grad_norm)?;
        optimizer.step(&grads, lr)?;
        Ok((loss_sum, kl_sum / normaliser as f64, grad_norm))
    }
}

fn carries_signal(credit: &TokenCredit) -> bool {
    (credit.advantages.iter().zip(&credit.mask)).any(|(a, m)| *a != 0.0 && *m != 0.0)
}

/// A group's completions as candidates (tokens placed on their text, the end-of-sequence
/// token as an empty span at the end when the completion stopped there), and their ids.
fn candidates(
    aligner: &Aligner,
    eos: Option<u32>,
    key: &str,
    prompt: &str,
    step: usize,
    group: &[Completion],
) -> Result<(Vec<Candidate>, Vec<Vec<u32>>), GrpoError> {
    let mut candidates = Vec::new();
    let mut ids = Vec::new();
    for (k, completion) in group.iter().enumerate() {
        let encoded = aligner
            .encode(&completion.text, false)
            .map_err(|e| GrpoError::Tokenize {
                problem: key.to_string(),
                message: format!("{e:?}"),
            })?;
        let (mut token_ids, mut spans): (Vec<u32>, Vec<Range<usize>>) =
            (encoded.ids, encoded.spans);
        if let (StopReason::EndOfSequence, Some(id)) = (completion.reason, eos) {
            let end = completion.text.chars().count();
            token_ids.push(id);
            spans.push(end..end);
        }
        candidates.push(Candidate {
            problem_id: key.to_string(),
            sample_id: format!("{key}#s{step}k{k}"),
            prompt: prompt.to_string(),
            completion: completion.text.clone(),
            spans,
        });
        ids.push(token_ids);
    }
    Ok((candidates, ids))
}

/// Everything a GRPO run needs from outside: the base model, the training problems, and how
/// their samples run.
pub struct GrpoRun<'a> {
    pub model: &'a Path,
    pub problems: &'a [Problem],
    pub exec: &'a tracealign_pipeline::ExecSettings,
    pub settings: &'a GrpoSettings,
    /// Threads for tensor math (`None`: one per core).
    pub threads: Option<usize>,
}

/// Loads the model with fresh adapters, starts a traced executor, prepares the problems and
/// traces their references, then trains into `out` ([`Grpo::train`]).
pub fn train_grpo(
    run: &GrpoRun,
    out: &Path,
    resume: bool,
    on_step: &mut dyn FnMut(&GrpoStep) -> ControlFlow<()>,
) -> Result<GrpoSummary, GrpoError> {
    use tracealign_core::{Execution, Sample};
    use tracealign_exec::TraceMode;
    use tracealign_pipeline::{NoProgress, Workers};

    let workers = Workers {
        settings: run.exec,
        progress: &NoProgress,
    };
    let executor = workers.start(TraceMode::Full).map_err(ScoreError::from)?;
    let prepared = workers
        .prepare(&executor, run.problems)
        .map_err(ScoreError::from)?;
    let samples: Vec<Sample> = run.problems.iter().map(Sample::reference).collect();
    let mut references: Vec<Execution> = Vec::new();
    executor.run(&prepared, &samples, |e| references.push(e));
    let scoring = Scoring {
        settings: run.exec,
        executor: &executor,
        problems: run.problems,
        prepared: &prepared,
        references: &references,
    };
    let task = ProgramTask {
        problems: run.problems,
        scoring: &scoring,
    };
    let policy = Policy {
        model: run.model,
        settings: run.settings,
        threads: run.threads,
    };
    policy.train(&task, out, resume, on_step)
}

/// The base model a run starts from and how it trains.
pub struct Policy<'a> {
    pub model: &'a Path,
    pub settings: &'a GrpoSettings,
    /// Threads for tensor math (`None`: one per core).
    pub threads: Option<usize>,
}

impl Policy<'_> {
    /// Loads the model with fresh adapters and trains it on `task` into `out`
    /// ([`Grpo::train`]).
    pub fn train(
        &self,
        task: &dyn Task,
        out: &Path,
        resume: bool,
        on_step: &mut dyn FnMut(&GrpoStep) -> ControlFlow<()>,
    ) -> Result<GrpoSummary, GrpoError> {
        let device = tracealign_train::training::device(self.threads)?;
        let loaded = tracealign_train::load_model(self.model, Some(&self.settings.lora), &device)?;
        let grpo = Grpo {
            settings: self.settings,
            loaded,
            task,
            base: Some(self.model.display().to_string()),
        };
        grpo.train(out, resume, on_step)
    }
}
