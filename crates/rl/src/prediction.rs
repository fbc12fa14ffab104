//! Execution prediction as an online-RL task: rows from `tracealign build traced` as
//! prompts, each sampled answer judged by the checker (by running it, as `eval --task`
//! does), the verdict an exact reward. TRACED-style execution-aware training, online.
//!
//! Under [`Credit::Sequence`] the reward is 1 for a right answer and 0 otherwise; under any
//! other mode it is the checker's partial credit (a path's common prefix, the share of a
//! state's variables right; all or nothing for values and inputs). There is nothing to
//! localize in an answer, so every mode gives sequence credit on its tokens.

use std::ops::ControlFlow;
use std::path::Path;

use tracealign_predict::check::CheckError;
use tracealign_predict::reply::{stop, trimmed};
use tracealign_predict::{Checker, PredictRow};

use crate::credit::{Credit, Rollout};
use crate::grpo::{GrpoError, GrpoSettings, GrpoStep, GrpoSummary, Policy, Task};
use crate::rollout::{Candidate, ScoreError};

/// Prediction rows and the checker that judges their answers.
pub struct PredictionTask<'a> {
    pub rows: &'a [PredictRow],
    pub checker: &'a Checker,
}

impl Task for PredictionTask<'_> {
    fn items(&self) -> usize {
        self.rows.len()
    }

    fn key(&self, i: usize) -> &str {
        &self.rows[i].id
    }

    fn prompt(&self, i: usize) -> String {
        self.rows[i].prompt.clone()
    }

    fn stops(&self, i: usize) -> Vec<String> {
        vec![stop(self.rows[i].kind).to_string()]
    }

    fn score(
        &self,
        i: usize,
        candidates: &[Candidate],
        credit: Credit,
    ) -> Result<Vec<Rollout>, ScoreError> {
        let row = &self.rows[i];
        (candidates.iter())
            .map(|candidate| {
                let answer = trimmed(&candidate.completion, row.kind);
                let judged = self.checker.judge(row, &answer).map_err(judge_error)?;
                Ok(Rollout {
                    reward: match credit {
                        Credit::Sequence => f64::from(u8::from(judged.correct)),
                        _ => judged.credit,
                    },
                    passed: judged.correct,
                    tokens: candidate.spans.len(),
                    suspicion: Vec::new(),
                    divergence: None,
                })
            })
            .collect()
    }
}

fn judge_error(error: CheckError) -> ScoreError {
    match error {
        CheckError::Exec(e) => ScoreError::Exec(e),
        other => ScoreError::Reward(other.to_string()),
    }
}

/// Everything a GRPO run on prediction rows needs: the base model, the rows, the Python
/// that judges answers.
pub struct PredictionRun<'a> {
    pub model: &'a Path,
    pub rows: &'a [PredictRow],
    pub python: &'a Path,
    pub settings: &'a GrpoSettings,
    /// Threads for tensor math (`None`: one per core).
    pub threads: Option<usize>,
}

/// Starts a checker, then trains a fresh adapter on the rows ([`Policy::train`]: the same
/// checkpoints, metrics and resumption as on problems).
pub fn train_prediction_grpo(
    run: &PredictionRun,
    out: &Path,
    resume: bool,
    on_step: &mut dyn FnMut(&GrpoStep) -> ControlFlow<()>,
) -> Result<GrpoSummary, GrpoError> {
    let checker = Checker::start(run.python.to_path_buf()).map_err(judge_error)?;
    let task = PredictionTask {
        rows: run.rows,
        checker: &checker,
    };
    let policy = Policy {
        model: run.model,
        settings: run.settings,
        threads: run.threads,
    };
    policy.train(&task, out, resume, on_step)
}
