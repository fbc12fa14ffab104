//! The experiment's TOML config: the model, the training problems, the evaluation sets, how
//! the base model is sampled, the arms, the one training budget every arm shares, how models
//! are evaluated, and the `[quick]` overrides that shrink all of it to a smoke run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracealign_core::formats::problems::ProblemFormat;
use tracealign_dataset::repair::Representation;
use tracealign_rl::Credit;
use tracealign_trace::render::Style;
use tracealign_train::DecodeWeights;

/// An error reading or checking a config; each names the file and the field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read {}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    /// Not TOML, an unknown field, or a value of the wrong kind (an unknown format, style or
    /// decode-weights form among them): the message names the line and the field.
    #[error("{}: {source}", file.display())]
    Parse {
        file: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{}: [[arms]] name `{arm}` is used twice", file.display())]
    ArmNamedTwice { file: PathBuf, arm: String },
    #[error(
        "{}: [[arms]] `{arm}`: objective `{objective}` {}",
        file.display(), arm_needs(*objective, *data, *credit)
    )]
    ObjectiveReadsOtherData {
        file: PathBuf,
        arm: String,
        objective: Objective,
        data: Option<DataKind>,
        credit: Option<Credit>,
    },
    #[error(
        "{}: [[arms]] `{arm}`: a repair adapter is scored by the repair study; add [repair]",
        file.display()
    )]
    RepairAdapterWithoutStudy { file: PathBuf, arm: String },
    #[error("{}: [[eval_sets]] name `{set}` is used twice", file.display())]
    EvalSetNamedTwice { file: PathBuf, set: String },
    #[error(
        "{}: [[eval_sets]] `{set}`: programs_from `{from}` must name an earlier eval set \
         that generates its own programs",
        file.display()
    )]
    ProgramsFrom {
        file: PathBuf,
        set: String,
        from: String,
    },
    #[error("{}: [repair].eval_set `{name}` names no eval set", file.display())]
    RepairEvalSet { file: PathBuf, name: String },
    #[error("{}: [prediction].eval_set `{name}` names no eval set", file.display())]
    PredictionEvalSet { file: PathBuf, name: String },
    #[error("{}: [quick].eval_sets: `{name}` names no eval set", file.display())]
    QuickEvalSet { file: PathBuf, name: String },
    #[error("{}: [sampling].n must be at least 1", file.display())]
    NoSamples { file: PathBuf },
    #[error("{}: [eval].pass_at_k: k = {k} needs 1 ≤ k ≤ n = {n}", file.display())]
    PassAtK { file: PathBuf, k: usize, n: usize },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The base model: a Hugging Face directory or a .gguf file.
    pub model: PathBuf,
    /// The frozen weights' form in decoding steps of every generation (`tracealign generate
    /// --decode-weights`): `f32` (default) or `q8_0`.
    #[serde(default)]
    pub decode_weights: DecodeWeights,
    pub training: ProblemSet,
    /// Where the base model and every adapter are scored.
    pub eval_sets: Vec<ProblemSet>,
    pub sampling: Sampling,
    #[serde(default)]
    pub build: Build,
    pub train: TrainBudget,
    /// The online arms' budget (`objective = "grpo"`), shared by every such arm.
    #[serde(default)]
    pub grpo: GrpoBudget,
    pub eval: EvalSettings,
    pub arms: Vec<Arm>,
    /// The trace-in-prompt repair study, when asked for.
    pub repair: Option<RepairStudy>,
    /// Output prediction by every model, when asked for.
    pub prediction: Option<PredictionEval>,
    /// Applied over the rest by `--quick`.
    #[serde(default)]
    pub quick: Quick,
}

/// What an arm of `objective` lacks or should not have, for the error message.
fn arm_needs(objective: Objective, data: Option<DataKind>, credit: Option<Credit>) -> String {
    match (objective, data, credit) {
        (Objective::Grpo, Some(data), _) => {
            format!("samples its own data: remove `data = \"{}\"`", data.name())
        }
        (Objective::Grpo, None, None) => {
            "needs `credit` (sequence, pass_ratio, fault or divergence)".to_string()
        }
        (_, _, Some(_)) => "takes no `credit` (only grpo arms do)".to_string(),
        (_, None, _) => "needs `data` (the rows it trains on)".to_string(),
        (_, Some(data), _) => format!("does not read data `{}`", data.name()),
    }
}

/// A problem file; without `path`, the embedded problems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemSet {
    #[serde(default = "training_name")]
    pub name: String,
    pub path: Option<PathBuf>,
    /// tracealign, humaneval, mbpp or evalplus; detected when left out.
    pub format: Option<ProblemFormat>,
    /// Only the problems whose `task_id` (its number: `HumanEval/7` is 7) lies in this
    /// inclusive range, e.g. MBPP's train split [601, 974] apart from its validation.
    pub task_ids: Option<[u64; 2]>,
    /// Only the first N problems (lines) of the file, after `task_ids`.
    pub limit: Option<usize>,
    /// Eval sets only: judge the programs generated for the named eval set with this set's
    /// tests instead of generating again — EvalPlus's protocol (HumanEval+ has HumanEval's
    /// prompts and more tests).
    pub programs_from: Option<String>,
}

/// The repair study: the base model's failing greedy programs on an eval set, each asked to
/// be repaired under every condition — (a) the failing test and its outcome only
/// (`feedback`), (b) that plus the failing test's trace in each style under a token budget,
/// (c) that plus fault-localization markers on the most suspicious lines (`fl-markers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepairStudy {
    /// The eval set whose base-model greedy programs are repaired.
    pub eval_set: String,
    /// Only the set's first N problems (their failing programs).
    pub limit: Option<usize>,
    /// Trace rendering styles, one condition each: lines, blocks, inline, summary.
    pub styles: Vec<Style>,
    /// Most tokens a trace prompt may take.
    pub budget: usize,
    /// Lines `fl-markers` marks (ties included).
    pub fl_lines: usize,
    /// Most tokens of a repair reply.
    pub max_tokens: usize,
}

/// Output prediction (CRUXEval-O): every model (the base and each adapter) answers what the
/// calls of one eval set's tests return, the rows built from its reference solutions run
/// with full traces (`tracealign build traced --kinds output`); each answer is judged by
/// running it (`tracealign eval --task output`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictionEval {
    /// The eval set whose reference solutions' calls are asked about.
    pub eval_set: String,
    /// Rows per problem at most. Default 1.
    #[serde(default = "one")]
    pub per_problem: usize,
    /// Most tokens of an answer. Default 48.
    #[serde(default = "answer_tokens")]
    pub max_tokens: usize,
}

fn one() -> usize {
    1
}

fn answer_tokens() -> usize {
    48
}

/// One prompt condition of the repair study: how its prompts show the failing program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// `feedback`, `trace-<style>` or `fl-markers`.
    pub name: String,
    /// The repair rows' representation (`tracealign build repair --repr`).
    pub representation: Representation,
    /// The trace's layout; only `trace` prompts show one (the others keep the default).
    pub style: Style,
}

impl RepairStudy {
    /// The conditions, in order: `feedback`, `trace-<style>`…, `fl-markers`.
    pub fn conditions(&self) -> Vec<Condition> {
        let condition = |name: String, representation, style| Condition {
            name,
            representation,
            style,
        };
        let mut conditions = vec![condition(
            "feedback".into(),
            Representation::Feedback,
            Style::default(),
        )];
        for &style in &self.styles {
            conditions.push(condition(
                format!("trace-{}", style.name()),
                Representation::Trace,
                style,
            ));
        }
        conditions.push(condition(
            "fl-markers".into(),
            Representation::FlMarkers,
            Style::default(),
        ));
        conditions
    }
}

impl ProblemSet {
    /// Whether a problem file's record is in the set's `task_ids` range.
    pub fn selects(&self, record: &serde_json::Value) -> bool {
        let Some([low, high]) = self.task_ids else {
            return true;
        };
        let number = match &record["task_id"] {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => {
                let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
                s[s.len() - digits..].parse().ok()
            }
            _ => None,
        };
        number.is_some_and(|n| (low..=high).contains(&n))
    }
}

fn training_name() -> String {
    "training".into()
}

/// How the base model is sampled on the training problems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sampling {
    pub n: usize,
    pub temperature: f64,
    pub max_tokens: usize,
}

/// Options of the training-data builders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// Killed mutants per passing program that has no similar failing one (FAIT SFT).
    pub mutants: usize,
    /// Most suspicious lines of a rejected program its fault mask covers.
    pub fault_lines: usize,
}

impl Default for Build {
    fn default() -> Build {
        Build {
            mutants: 4,
            fault_lines: 1,
        }
    }
}

/// The budget every arm trains with, so arms differ only in their data and objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainBudget {
    pub steps: usize,
    pub lr: f64,
    pub rank: usize,
    pub alpha: f64,
    pub batch: usize,
    pub seed: u64,
    #[serde(default = "max_len")]
    pub max_len: usize,
    /// Tensor threads (default: one per core).
    pub threads: Option<usize>,
}

/// One budget for every GRPO arm: per step, `prompts` training problems × `samples`
/// completions of at most `max_tokens`, sampled at `temperature`; `steps` updates at `lr`,
/// with a k3 KL penalty of `kl_beta` to the base. LoRA rank, alpha, seed and threads come
/// from `[train]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpoBudget {
    pub steps: usize,
    pub prompts: usize,
    pub samples: usize,
    pub max_tokens: usize,
    pub temperature: f64,
    pub lr: f64,
    pub kl_beta: f64,
}

impl Default for GrpoBudget {
    fn default() -> Self {
        GrpoBudget {
            steps: 20,
            prompts: 4,
            samples: 4,
            max_tokens: 256,
            temperature: 1.0,
            lr: 1e-4,
            kl_beta: 0.02,
        }
    }
}

fn max_len() -> usize {
    512
}

/// How every model is scored: greedy pass@1, and optionally pass@k of `n` samples at `T`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSettings {
    pub max_tokens: usize,
    pub pass_at_k: Option<PassAtKSettings>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassAtKSettings {
    pub k: usize,
    pub n: usize,
    pub temperature: f64,
}

/// One adapter to train: which rows, which objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    pub name: String,
    pub objective: Objective,
    /// The rows an offline arm (`sft`, `dpo`) reads; none for `grpo`, which samples its own.
    #[serde(default)]
    pub data: Option<DataKind>,
    /// `grpo` only: where credit lands (`sequence`, `pass_ratio`, `fault`, `divergence`).
    #[serde(default)]
    pub credit: Option<Credit>,
    /// DPO only: completion tokens under the fault mask weigh 1 + this (0: plain DPO).
    #[serde(default)]
    pub mask_weight: f64,
}

impl Arm {
    /// Whether the arm is a repair adapter (scored by the repair study).
    pub fn repairs(&self) -> bool {
        self.data == Some(DataKind::Repair)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    Sft,
    Dpo,
    /// Online GRPO on the training problems, credited by execution.
    Grpo,
}

impl Objective {
    /// `sft` or `dpo`, as in configs.
    pub fn name(self) -> &'static str {
        match self {
            Objective::Sft => "sft",
            Objective::Dpo => "dpo",
            Objective::Grpo => "grpo",
        }
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The training rows an arm reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    /// Passing programs, weighted by their diffs to failing ones (FAIT).
    FaitSft,
    /// The same programs, every token weighing 1.
    UniformSft,
    /// Passing vs failing programs, with diff and fault masks.
    Dpo,
    /// The uniform SFT rows interleaved with as many execution-prediction rows (TRACED,
    /// CRUXEval: `output`, `input`, `path`, `state`) of the same traced runs' programs.
    TracedSft,
    /// Repair rows (a failing program and its failing test → the fix) and "leave it alone"
    /// rows (a passing program → itself). An arm reading them is a repair adapter: it is
    /// scored in the repair study (its `feedback` condition), not on the eval sets.
    Repair,
}

impl DataKind {
    pub const ALL: [DataKind; 5] = [
        DataKind::FaitSft,
        DataKind::UniformSft,
        DataKind::TracedSft,
        DataKind::Dpo,
        DataKind::Repair,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DataKind::FaitSft => "fait_sft",
            DataKind::UniformSft => "uniform_sft",
            DataKind::TracedSft => "traced_sft",
            DataKind::Dpo => "dpo",
            DataKind::Repair => "repair",
        }
    }
}

/// `--quick`: each field set replaces its counterpart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quick {
    pub training_limit: Option<usize>,
    pub eval_limit: Option<usize>,
    pub samples: Option<usize>,
    pub max_tokens: Option<usize>,
    pub steps: Option<usize>,
    pub batch: Option<usize>,
    pub max_len: Option<usize>,
    pub mutants: Option<usize>,
    /// Only these evaluation sets, by name.
    pub eval_sets: Option<Vec<String>>,
    /// Leave out pass@k (sampled evaluation), keeping greedy pass@1.
    #[serde(default)]
    pub no_pass_at_k: bool,
}

impl Config {
    /// Reads and checks `path`; relative paths in it are taken from the file's directory.
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and checks the text of the config file `file` (which names it in errors; its
    /// directory is where relative paths start).
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|source| ConfigError::Parse {
            file: file.to_path_buf(),
            source: Box::new(source),
        })?;
        config.resolve(file.parent().unwrap_or(Path::new("")));
        config.check(file)?;
        Ok(config)
    }

    fn resolve(&mut self, base: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        join(&mut self.model);
        let sets = std::iter::once(&mut self.training).chain(self.eval_sets.iter_mut());
        for path in sets.filter_map(|s| s.path.as_mut()) {
            join(path);
        }
    }

    /// Checks what the types cannot: names unique and referring to something, objectives
    /// that read their data, counts in range. `file` names the config in errors.
    pub fn check(&self, file: &Path) -> Result<(), ConfigError> {
        let file = || file.to_path_buf();
        let mut names = vec!["base"];
        for arm in &self.arms {
            if names.contains(&arm.name.as_str()) {
                return Err(ConfigError::ArmNamedTwice {
                    file: file(),
                    arm: arm.name.clone(),
                });
            }
            let fits = match (arm.objective, arm.data, arm.credit) {
                (Objective::Grpo, None, Some(_)) => true,
                (Objective::Sft, Some(data), None) => data != DataKind::Dpo,
                (Objective::Dpo, Some(DataKind::Dpo), None) => true,
                _ => false,
            };
            if !fits {
                return Err(ConfigError::ObjectiveReadsOtherData {
                    file: file(),
                    arm: arm.name.clone(),
                    objective: arm.objective,
                    data: arm.data,
                    credit: arm.credit,
                });
            }
            if arm.repairs() && self.repair.is_none() {
                return Err(ConfigError::RepairAdapterWithoutStudy {
                    file: file(),
                    arm: arm.name.clone(),
                });
            }
            names.push(&arm.name);
        }
        let mut sets = Vec::new();
        for set in &self.eval_sets {
            if sets.contains(&set.name.as_str()) {
                return Err(ConfigError::EvalSetNamedTwice {
                    file: file(),
                    set: set.name.clone(),
                });
            }
            if let Some(from) = &set.programs_from {
                let source = self.eval_sets.iter().find(|s| &s.name == from);
                if !source
                    .is_some_and(|s| sets.contains(&s.name.as_str()) && s.programs_from.is_none())
                {
                    return Err(ConfigError::ProgramsFrom {
                        file: file(),
                        set: set.name.clone(),
                        from: from.clone(),
                    });
                }
            }
            sets.push(&set.name);
        }
        if let Some(repair) = &self.repair {
            if !sets.contains(&repair.eval_set.as_str()) {
                return Err(ConfigError::RepairEvalSet {
                    file: file(),
                    name: repair.eval_set.clone(),
                });
            }
        }
        if let Some(prediction) = &self.prediction {
            if !sets.contains(&prediction.eval_set.as_str()) {
                return Err(ConfigError::PredictionEvalSet {
                    file: file(),
                    name: prediction.eval_set.clone(),
                });
            }
        }
        for name in self.quick.eval_sets.iter().flatten() {
            if !sets.contains(&name.as_str()) {
                return Err(ConfigError::QuickEvalSet {
                    file: file(),
                    name: name.clone(),
                });
            }
        }
        if self.sampling.n == 0 {
            return Err(ConfigError::NoSamples { file: file() });
        }
        if let Some(p) = &self.eval.pass_at_k {
            if p.k == 0 || p.k > p.n {
                return Err(ConfigError::PassAtK {
                    file: file(),
                    k: p.k,
                    n: p.n,
                });
            }
        }
        Ok(())
    }

    /// The config `--quick` runs: the `[quick]` section applied.
    pub fn quick(mut self) -> Config {
        let q = self.quick.clone();
        if let Some(limit) = q.training_limit {
            self.training.limit = Some(limit);
        }
        if let Some(limit) = q.eval_limit {
            for set in &mut self.eval_sets {
                set.limit = Some(limit);
            }
        }
        if let Some(n) = q.samples {
            self.sampling.n = n;
        }
        if let Some(tokens) = q.max_tokens {
            self.sampling.max_tokens = tokens;
            self.eval.max_tokens = tokens;
        }
        if let Some(steps) = q.steps {
            self.train.steps = steps;
            self.grpo.steps = steps;
        }
        if let Some(batch) = q.batch {
            self.train.batch = batch;
            self.grpo.prompts = batch;
        }
        if let Some(n) = q.samples {
            self.grpo.samples = n.max(2); // a group of one has no advantage
        }
        if let Some(tokens) = q.max_tokens {
            self.grpo.max_tokens = tokens;
        }
        if let Some(max_len) = q.max_len {
            self.train.max_len = max_len;
        }
        if let Some(mutants) = q.mutants {
            self.build.mutants = mutants;
        }
        if let Some(names) = &q.eval_sets {
            self.eval_sets.retain(|s| names.contains(&s.name));
            // A set judging another's programs goes with it.
            let kept: Vec<String> = self.eval_sets.iter().map(|s| s.name.clone()).collect();
            self.eval_sets
                .retain(|s| s.programs_from.as_ref().is_none_or(|f| kept.contains(f)));
            if self
                .repair
                .as_ref()
                .is_some_and(|r| !kept.contains(&r.eval_set))
            {
                self.repair = None;
            }
            if (self.prediction.as_ref()).is_some_and(|p| !kept.contains(&p.eval_set)) {
                self.prediction = None;
            }
        }
        if let Some(repair) = &mut self.repair {
            if let Some(limit) = q.eval_limit {
                repair.limit = Some(limit);
            }
            if let Some(tokens) = q.max_tokens {
                repair.max_tokens = tokens;
            }
        }
        if q.no_pass_at_k {
            self.eval.pass_at_k = None;
        }
        self
    }

    /// The data kinds some arm reads (only those are built).
    pub fn data_needed(&self) -> Vec<DataKind> {
        DataKind::ALL
            .into_iter()
            .filter(|kind| self.arms.iter().any(|a| a.data == Some(*kind)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
model = "m.gguf"
[training]
path = "train.jsonl"
format = "mbpp"
[[eval_sets]]
name = "humaneval"
path = "/data/HumanEval.jsonl.gz"
[[eval_sets]]
name = "embedded"
[sampling]
n = 8
temperature = 0.8
max_tokens = 384
[train]
steps = 100
lr = 2e-4
rank = 8
alpha = 16.0
batch = 4
seed = 0
[eval]
max_tokens = 384
pass_at_k = { k = 10, n = 20, temperature = 0.8 }
[[arms]]
name = "fait_sft"
objective = "sft"
data = "fait_sft"
[[arms]]
name = "masked_dpo"
objective = "dpo"
data = "dpo"
mask_weight = 1.0
[quick]
training_limit = 3
steps = 2
no_pass_at_k = true
"#;

    fn example() -> Config {
        parse(EXAMPLE).unwrap()
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/exp/exp.toml"))
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn relative_paths_are_taken_from_the_config_file() {
        let config = example();
        assert_eq!(config.model, Path::new("/exp/m.gguf"));
        assert_eq!(
            config.training.path.as_deref(),
            Some(Path::new("/exp/train.jsonl"))
        );
        assert_eq!(
            config.eval_sets[0].path.as_deref(),
            Some(Path::new("/data/HumanEval.jsonl.gz"))
        );
        assert_eq!(config.eval_sets[1].path, None);
        assert_eq!(config.data_needed(), [DataKind::FaitSft, DataKind::Dpo]);
    }

    #[test]
    fn the_checked_in_config_reads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiment.toml");
        let config = Config::read(&path).unwrap();
        assert_eq!(config.arms.len(), 10);
        assert_eq!(
            config.prediction.as_ref().map(|p| p.eval_set.as_str()),
            Some("humaneval")
        );
        let traced = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiment-traced.toml");
        let traced = Config::read(&traced).unwrap();
        assert_eq!(
            traced.data_needed(),
            [DataKind::UniformSft, DataKind::TracedSft]
        );
        let grpo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiment-grpo.toml");
        assert!(Config::read(&grpo).is_ok());
        assert_eq!(config.training.task_ids, Some([601, 974]));
        let online = config
            .arms
            .iter()
            .filter(|a| a.objective == Objective::Grpo);
        assert_eq!(online.filter_map(|a| a.credit).count(), 4);
        let quick = config.quick();
        assert_eq!(quick.training.limit, Some(3));
        let sets: Vec<&str> = quick.eval_sets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(sets, ["humaneval", "embedded"]);
        assert!(quick.eval_sets.iter().all(|s| s.limit == Some(2)));
        assert_eq!(quick.repair.map(|r| r.limit), Some(Some(2)));
    }

    #[test]
    fn task_id_ranges_select_by_the_ids_number() {
        let set = ProblemSet {
            name: "mbpp".into(),
            path: None,
            format: None,
            task_ids: Some([511, 600]),
            limit: None,
            programs_from: None,
        };
        assert!(set.selects(&serde_json::json!({"task_id": 511})));
        assert!(!set.selects(&serde_json::json!({"task_id": 601})));
        assert!(set.selects(&serde_json::json!({"task_id": "Mbpp/600"})));
        assert!(!set.selects(&serde_json::json!({"id": "x"})));
    }

    #[test]
    fn quick_overrides_only_what_it_names() {
        let quick = example().quick();
        assert_eq!(quick.training.limit, Some(3));
        assert_eq!(quick.train.steps, 2);
        assert_eq!(quick.train.lr, 2e-4);
        assert_eq!(quick.sampling.n, 8);
        assert_eq!(quick.eval.pass_at_k, None);
    }

    #[test]
    fn an_arm_whose_objective_does_not_fit_its_data_is_refused() {
        let text = EXAMPLE.replace(
            "objective = \"sft\"\ndata = \"fait_sft\"",
            "objective = \"dpo\"\ndata = \"fait_sft\"",
        );
        assert_eq!(
            error(&text),
            "/exp/exp.toml: [[arms]] `fait_sft`: objective `dpo` does not read data `fait_sft`"
        );
    }

    #[test]
    fn an_online_arm_needs_a_credit_mode_and_no_rows() {
        let arm = |body: &str| {
            EXAMPLE.replace(
                "[quick]",
                &format!("[[arms]]\nname = \"g\"\n{body}\n[quick]"),
            )
        };
        let ok = parse(&arm("objective = \"grpo\"\ncredit = \"divergence\"")).unwrap();
        assert_eq!(ok.arms[2].credit, Some(Credit::Divergence));
        assert_eq!(ok.data_needed(), [DataKind::FaitSft, DataKind::Dpo]);
        assert_eq!(
            error(&arm("objective = \"grpo\"")),
            "/exp/exp.toml: [[arms]] `g`: objective `grpo` needs `credit` (sequence, pass_ratio, fault or divergence)"
        );
        assert_eq!(
            error(&arm("objective = \"grpo\"\ncredit = \"fault\"\ndata = \"dpo\"")),
            "/exp/exp.toml: [[arms]] `g`: objective `grpo` samples its own data: remove `data = \"dpo\"`"
        );
        assert_eq!(
            error(&arm(
                "objective = \"sft\"\ndata = \"fait_sft\"\ncredit = \"fault\""
            )),
            "/exp/exp.toml: [[arms]] `g`: objective `sft` takes no `credit` (only grpo arms do)"
        );
        assert!(error(&arm("objective = \"grpo\"\ncredit = \"loud\""))
            .contains("unknown variant `loud`"));
    }

    #[test]
    fn programs_from_must_name_an_earlier_generating_set() {
        let plus = "[[eval_sets]]\nname = \"plus\"\nprograms_from = \"humaneval\"\n";
        let after = EXAMPLE.replace("[sampling]", &format!("{plus}[sampling]"));
        assert!(parse(&after).is_ok());
        let before = EXAMPLE.replace(
            "[[eval_sets]]\nname = \"humaneval\"",
            &format!("{plus}[[eval_sets]]\nname = \"humaneval\""),
        );
        assert!(error(&before).starts_with(
            "/exp/exp.toml: [[eval_sets]] `plus`: programs_from `humaneval` must name"
        ));
    }

    #[test]
    fn the_repair_study_has_a_condition_per_style_between_feedback_and_markers() {
        let text = format!(
            "{EXAMPLE}[repair]\neval_set = \"humaneval\"\nstyles = [\"lines\", \"inline\"]\n\
             budget = 512\nfl_lines = 1\nmax_tokens = 64\n"
        );
        let config = parse(&text).unwrap();
        let study = config.repair.clone().unwrap();
        let names: Vec<String> = study.conditions().into_iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            ["feedback", "trace-lines", "trace-inline", "fl-markers"]
        );
        let inline = &study.conditions()[2];
        assert_eq!(
            (inline.representation, inline.style),
            (Representation::Trace, Style::Inline)
        );
        assert_eq!(
            study.conditions()[3].representation,
            Representation::FlMarkers
        );
        let quick = config.quick();
        assert_eq!(
            quick.repair.map(|r| r.max_tokens),
            Some(64),
            "[quick] sets no max_tokens"
        );
        let bad = text.replace("\"inline\"]", "\"prose\"]");
        let message = error(&bad);
        assert!(message.starts_with("/exp/exp.toml: "), "{message}");
        assert!(message.contains("unknown variant `prose`"), "{message}");
        let elsewhere = text.replace("eval_set = \"humaneval\"", "eval_set = \"mbpp\"");
        assert_eq!(
            error(&elsewhere),
            "/exp/exp.toml: [repair].eval_set `mbpp` names no eval set"
        );
    }

    #[test]
    fn output_prediction_names_an_eval_set_and_goes_with_it_in_quick_runs() {
        let text = EXAMPLE.replace("[quick]", "[prediction]\neval_set = \"humaneval\"\n[quick]");
        let config = Config::parse(&text, Path::new("/exp/exp.toml")).unwrap();
        let prediction = config.prediction.clone().unwrap();
        assert_eq!((prediction.per_problem, prediction.max_tokens), (1, 48));
        let mut dropped = config.clone();
        dropped.quick.eval_sets = Some(Vec::new());
        assert_eq!(dropped.quick().prediction, None);
        let elsewhere = text.replace(
            "[prediction]\neval_set = \"humaneval\"",
            "[prediction]\neval_set = \"mbpp\"",
        );
        assert_eq!(
            error(&elsewhere),
            "/exp/exp.toml: [prediction].eval_set `mbpp` names no eval set"
        );
    }

    #[test]
    fn decode_weights_default_to_f32_and_unknown_forms_are_refused() {
        assert_eq!(example().decode_weights, DecodeWeights::F32);
        let q8 = parse(&format!("decode_weights = \"q8_0\"\n{EXAMPLE}")).unwrap();
        assert_eq!(q8.decode_weights, DecodeWeights::Q8_0);
        let message = error(&format!("decode_weights = \"q4\"\n{EXAMPLE}"));
        assert!(message.contains("unknown variant `q4`"), "{message}");
        assert!(message.contains("decode_weights"), "{message}");
    }

    #[test]
    fn formats_are_read_by_name() {
        let config = parse(&EXAMPLE.replace("format = \"mbpp\"", "format = \"evalplus\""));
        assert_eq!(
            config.unwrap().training.format,
            Some(ProblemFormat::EvalPlus)
        );
        let message = error(&EXAMPLE.replace("format = \"mbpp\"", "format = \"apps\""));
        assert!(message.contains("unknown variant `apps`"), "{message}");
    }
}
