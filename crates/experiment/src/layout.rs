//! Where an experiment's outputs live under its directory: one method per file, so no
//! stage, test or report spells a path of its own. A stage's name is its directory (or
//! file stem) under the output directory: `sample`, `runs`, `faults`, `data/<kind>`,
//! `train/<arm>`, `eval/<set>/<model>/<greedy|sampled>`, `repair/runs`, `repair/faults`,
//! `repair/<condition>`, `prediction/rows`, `prediction/<model>`.

use std::path::{Path, PathBuf};

use crate::config::DataKind;
use crate::results::BASE;

/// The output directory of one experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    out: PathBuf,
}

impl Layout {
    pub fn new(out: impl Into<PathBuf>) -> Layout {
        Layout { out: out.into() }
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        &self.out
    }

    /// A problem set cut to its `task_ids` and `limit`: `problems/<set>.jsonl`.
    pub fn problem_subset(&self, set: &str) -> PathBuf {
        self.out.join("problems").join(format!("{set}.jsonl"))
    }

    /// The base model's samples of the training problems.
    pub fn samples(&self) -> PathBuf {
        self.out.join("sample/samples.jsonl")
    }

    /// Those samples and the reference solutions, run with full traces.
    pub fn runs(&self) -> PathBuf {
        self.out.join("runs/runs.jsonl")
    }

    /// A fault report per run.
    pub fn faults(&self) -> PathBuf {
        self.out.join("faults/faults.jsonl")
    }

    /// The training rows of one kind.
    pub fn data(&self, kind: DataKind) -> PathBuf {
        self.out.join(format!("data/{}.jsonl", kind.name()))
    }

    /// An arm's training directory (the adapter in PEFT's layout, metrics, checkpoint).
    pub fn train_dir(&self, arm: &str) -> PathBuf {
        self.out.join("train").join(arm)
    }

    /// An arm's adapter weights: their existence means the arm is trained.
    pub fn adapter_weights(&self, arm: &str) -> PathBuf {
        self.train_dir(arm).join("adapter_model.safetensors")
    }

    /// An arm's loss per step.
    pub fn metrics(&self, arm: &str) -> PathBuf {
        self.train_dir(arm).join("metrics.jsonl")
    }

    /// One evaluation of a model (`None`: the base model) on a set: greedy pass@1, or
    /// (`sampled`) pass@k of n samples at a temperature.
    pub fn eval_dir(&self, set: &str, arm: Option<&str>, sampled: bool) -> PathBuf {
        let kind = if sampled { "sampled" } else { "greedy" };
        self.out
            .join("eval")
            .join(set)
            .join(arm.unwrap_or(BASE))
            .join(kind)
    }

    /// The repair study's runs: the base model's failing programs and the references.
    pub fn repair_runs(&self) -> PathBuf {
        self.out.join("repair/runs/runs.jsonl")
    }

    /// The repair study's fault reports.
    pub fn repair_faults(&self) -> PathBuf {
        self.out.join("repair/faults.jsonl")
    }

    /// One condition of the repair study: its prompts, replies, runs and evaluation.
    pub fn repair_dir(&self, condition: &str) -> PathBuf {
        self.out.join("repair").join(condition)
    }

    /// Output prediction's rows, from the eval set's references run with full traces
    /// (beside them in `prediction/rows/runs.jsonl`).
    pub fn prediction_rows(&self) -> PathBuf {
        self.out.join("prediction/rows/rows.jsonl")
    }

    /// One model's answers to those rows (`answers.jsonl`) and their evaluation
    /// (`eval.json`, each row an item scored right or wrong).
    pub fn prediction_dir(&self, arm: Option<&str>) -> PathBuf {
        self.out.join("prediction").join(arm.unwrap_or(BASE))
    }

    /// The table as JSON.
    pub fn results_json(&self) -> PathBuf {
        self.out.join("results.json")
    }

    /// The table as Markdown.
    pub fn results_markdown(&self) -> PathBuf {
        self.out.join("results.md")
    }

    /// The table and learning curves as an HTML page.
    pub fn results_html(&self) -> PathBuf {
        self.out.join("results.html")
    }
}

/// What an evaluation directory holds.
pub mod eval_files {
    /// The programs generated (absent when judged from another set's).
    pub const SAMPLES: &str = "samples.jsonl";
    /// Their executions.
    pub const RUNS: &str = "runs.jsonl";
    /// pass@k and failure categories.
    pub const EVALUATION: &str = "eval.json";
    /// The evaluation for people.
    pub const REPORT: &str = "report.html";
    /// Repair conditions only: the repair prompts the replies answer.
    pub const PROMPTS: &str = "prompts.jsonl";
    /// Prediction only: each row's answer and verdict.
    pub const ANSWERS: &str = "answers.jsonl";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_output_is_under_the_directory_where_its_stage_is_named() {
        let layout = Layout::new("/x/out");
        assert_eq!(
            layout.data(DataKind::Dpo),
            Path::new("/x/out/data/dpo.jsonl")
        );
        assert_eq!(
            layout.eval_dir("he", Some("dpo"), true),
            Path::new("/x/out/eval/he/dpo/sampled")
        );
        assert_eq!(
            layout.eval_dir("he", None, false),
            Path::new("/x/out/eval/he/base/greedy")
        );
        assert_eq!(
            layout.adapter_weights("fait"),
            Path::new("/x/out/train/fait/adapter_model.safetensors")
        );
    }
}
