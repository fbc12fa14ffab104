//! Where a job's outputs are: one directory, one file per stage, named once here. The main
//! job writes all of them; the evaluation job writes samples (when it generates them),
//! runs, the evaluation and the report; `tracealign report` reads whichever a directory
//! holds.

use std::path::PathBuf;

/// The kinds of training rows the main job builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum RowKind {
    Sft,
    Dpo,
    Repair,
    Rewards,
}

impl RowKind {
    pub const ALL: [RowKind; 4] = [
        RowKind::Sft,
        RowKind::Dpo,
        RowKind::Repair,
        RowKind::Rewards,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RowKind::Sft => "sft",
            RowKind::Dpo => "dpo",
            RowKind::Repair => "repair",
            RowKind::Rewards => "rewards",
        }
    }
}

/// A job's output directory.
#[derive(Debug, Clone)]
pub struct OutputLayout {
    pub dir: PathBuf,
}

impl OutputLayout {
    pub fn new(dir: impl Into<PathBuf>) -> OutputLayout {
        OutputLayout { dir: dir.into() }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn mutants(&self) -> PathBuf {
        self.file("mutants.jsonl")
    }
    pub fn samples(&self) -> PathBuf {
        self.file("samples.jsonl")
    }
    pub fn runs(&self) -> PathBuf {
        self.file("runs.jsonl")
    }
    pub fn references(&self) -> PathBuf {
        self.file("references.jsonl")
    }
    pub fn faults(&self) -> PathBuf {
        self.file("faults.jsonl")
    }
    pub fn rows(&self, kind: RowKind) -> PathBuf {
        self.file(&format!("{}.jsonl", kind.name()))
    }
    pub fn eval(&self) -> PathBuf {
        self.file("eval.json")
    }
    pub fn report(&self) -> PathBuf {
        self.file("report.html")
    }

    /// What an evaluation made itself (`tracealign eval --fresh` discards them).
    pub fn made_by_eval(&self) -> [PathBuf; 2] {
        [self.samples(), self.runs()]
    }
}
