//! Rewards for RL on code: scalar ones from test outcomes, dense ones (per line, per
//! character, per token) from fault localization and diffs. [`score`] is a pure function of
//! one execution and its evidence, for the HTTP service and the Python binding as much as
//! for `tracealign build rewards`.
//!
//! Scalar schemes:
//! - `binary`: 1 when every test passed, else 0.
//! - `pass_ratio`: the share of tests passed (0 for a program that does not compile).
//! - `rltf` (RLTF's coarse feedback, after CodeRL): −1 syntax error, −0.6 runtime error
//!   (an exception, timeout, memory or output limit, or a kill), −0.3 a failed test, +1 all
//!   passed; judged on the program's first test that did not pass ([`Execution::verdict`]).
//! - `adaptive` (RLTF's adaptive feedback): −0.3 + 1.3 × pass ratio, for every program (one
//!   that does not compile has ratio 0: −0.3).
//!
//! Dense schemes give one value per character of the program (and per line: the line's value
//! farthest from 0), 0 where nothing is said; a trainer lays them on tokens with
//! [`crate::align`]:
//! - `fault_penalty`: −score / (the report's top score) on the suspicious lines of a failing
//!   program — on the tokens a localizer pointed at inside the line when it did, else the
//!   line's whole content. A passing program gets zeros.
//! - `error_line` (RLTF's fine-grained feedback): the `rltf` value (−1 or −0.6) on the line
//!   that raised (the syntax error's line, else the first exception raised in the candidate's
//!   code); zeros for programs without one.
//! - `fait`: FAIT's diff weights as a reward: `+alpha` on tokens where a passing program
//!   differs from similar failing programs and `+beta` on the rest of those lines; `−alpha` /
//!   `−beta` on a failing program where it differs from similar passing programs (see
//!   [`crate::contrast`]).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use tracealign_core::stats::mean;
use tracealign_core::{Execution, FaultReport, ProgramStatus, TestOutcome, Verdict};

use crate::align::{token_values, Aligner};
use crate::completion::Split;
use crate::contrast::{contrast, ContrastOptions};
use crate::corpus::Corpus;
use crate::error::{DatasetError, Result};
use crate::lines::LineIndex;
use crate::rows::TokenColumns;
use crate::sensitive::SensitiveWeights;

/// A reward scheme (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    Binary,
    PassRatio,
    Rltf,
    Adaptive,
    FaultPenalty,
    ErrorLine,
    Fait,
}

impl Scheme {
    /// Every scheme, scalar ones first.
    pub const ALL: [Scheme; 7] = [
        Scheme::Binary,
        Scheme::PassRatio,
        Scheme::Rltf,
        Scheme::Adaptive,
        Scheme::FaultPenalty,
        Scheme::ErrorLine,
        Scheme::Fait,
    ];

    /// The scheme's name, as in rows and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Binary => "binary",
            Scheme::PassRatio => "pass_ratio",
            Scheme::Rltf => "rltf",
            Scheme::Adaptive => "adaptive",
            Scheme::FaultPenalty => "fault_penalty",
            Scheme::ErrorLine => "error_line",
            Scheme::Fait => "fait",
        }
    }

    /// Whether the scheme gives per-line and per-character values rather than one number.
    pub fn is_dense(self) -> bool {
        matches!(
            self,
            Scheme::FaultPenalty | Scheme::ErrorLine | Scheme::Fait
        )
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheme {
    type Err = DatasetError;

    fn from_str(name: &str) -> Result<Self> {
        Scheme::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| DatasetError::InvalidOption {
                option: "--scheme",
                expected: "binary, pass_ratio, rltf, adaptive, fault_penalty, error_line or fait",
                value: name.to_string(),
            })
    }
}

/// What a program's reward is computed from.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The program's execution (its `code` is the program).
    pub execution: &'a Execution,
    /// Its fault report, for `fault_penalty`.
    pub fault: Option<&'a FaultReport>,
    /// Programs of the same problem with the other verdict, for `fait`.
    pub contrast: &'a [&'a str],
    /// FAIT's weights and how contrast programs are chosen, for `fait`.
    pub weights: SensitiveWeights,
    pub contrast_options: ContrastOptions,
}

impl<'a> Evidence<'a> {
    /// The execution alone (enough for every scheme but `fault_penalty` and `fait`).
    pub fn of(execution: &'a Execution) -> Evidence<'a> {
        Evidence {
            execution,
            fault: None,
            contrast: &[],
            weights: SensitiveWeights::default(),
            contrast_options: ContrastOptions::default(),
        }
    }
}

/// A program's reward under one scheme.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reward {
    pub scheme: Scheme,
    /// The reward of a scalar scheme; `None` for a dense one.
    pub value: Option<f64>,
    /// Dense schemes: one value per line of the program (line k at index k − 1).
    pub lines: Vec<f64>,
    /// Dense schemes: one value per character of the program.
    pub chars: Vec<f64>,
}

/// The reward of `evidence.execution` under `scheme`. Fails only when the scheme needs
/// evidence that is not there (`fault_penalty` without a fault report).
pub fn score(evidence: &Evidence, scheme: Scheme) -> Result<Reward> {
    let execution = evidence.execution;
    let scalar = |value| Reward {
        scheme,
        value: Some(value),
        lines: Vec::new(),
        chars: Vec::new(),
    };
    let index = LineIndex::new(&execution.code);
    let chars = match scheme {
        Scheme::Binary => return Ok(scalar(f64::from(u8::from(execution.passed)))),
        Scheme::PassRatio => return Ok(scalar(pass_ratio(execution))),
        Scheme::Rltf => return Ok(scalar(rltf(execution))),
        Scheme::Adaptive => return Ok(scalar(-0.3 + 1.3 * pass_ratio(execution))),
        Scheme::FaultPenalty => {
            let report = evidence.fault.ok_or(DatasetError::MissingEvidence {
                scheme: "fault_penalty",
                needed: "the program's fault report (tracealign localize)",
            })?;
            fault_penalty(execution, report, &index)
        }
        Scheme::ErrorLine => error_line(execution, &index),
        Scheme::Fait => fait(evidence, &index),
    };
    Ok(Reward {
        scheme,
        value: None,
        lines: line_values(&chars, &index),
        chars,
    })
}

/// The share of tests passed; 0 without tests that ran.
fn pass_ratio(execution: &Execution) -> f64 {
    if matches!(execution.status, ProgramStatus::SyntaxError { .. }) || execution.tests.is_empty() {
        return f64::from(u8::from(execution.passed));
    }
    let passed = execution
        .tests
        .iter()
        .filter(|t| t.outcome.is_passed())
        .count();
    passed as f64 / execution.tests.len() as f64
}

fn rltf(execution: &Execution) -> f64 {
    if matches!(execution.status, ProgramStatus::SyntaxError { .. }) {
        return -1.0;
    }
    match execution.verdict() {
        Verdict::Passed => 1.0,
        Verdict::Failed => -0.3,
        Verdict::Error | Verdict::Timeout => -0.6,
    }
}

fn fault_penalty(execution: &Execution, report: &FaultReport, index: &LineIndex) -> Vec<f64> {
    let mut chars = vec![0.0; index.chars()];
    let top = report.lines.iter().map(|l| l.score).fold(0.0, f64::max);
    if execution.passed || report.passed || top <= 0.0 {
        return chars;
    }
    for line in report.lines.iter().filter(|l| l.score > 0.0) {
        let penalty = -line.score / top;
        let content = index.content(line.line);
        let pointed: Vec<_> = report
            .spans
            .iter()
            .filter(|s| content.contains(&s.start))
            .collect();
        if pointed.is_empty() {
            chars[content].fill(penalty);
        } else {
            let n = chars.len();
            for span in pointed {
                chars[span.start.min(n)..span.end.min(n)].fill(penalty);
            }
        }
    }
    chars
}

fn error_line(execution: &Execution, index: &LineIndex) -> Vec<f64> {
    let mut chars = vec![0.0; index.chars()];
    let line = match &execution.status {
        ProgramStatus::SyntaxError { line, .. } => *line,
        ProgramStatus::Ok => execution.tests.iter().find_map(|t| match &t.outcome {
            TestOutcome::Error { line, .. } => *line,
            _ => None,
        }),
    };
    if let Some(line) = line {
        chars[index.content(line)].fill(rltf(execution));
    }
    chars
}

fn fait(evidence: &Evidence, index: &LineIndex) -> Vec<f64> {
    let others: Vec<(&str, &str)> = evidence.contrast.iter().map(|&c| ("", c)).collect();
    let found = contrast(
        &evidence.execution.code,
        &others,
        &evidence.contrast_options,
    );
    let sign = if evidence.execution.passed { 1.0 } else { -1.0 };
    found
        .segments
        .weights(index, &evidence.weights)
        .into_iter()
        .map(|w| sign * (w - 1.0))
        .collect()
}

/// Per line, the value of its content farthest from 0.
fn line_values(chars: &[f64], index: &LineIndex) -> Vec<f64> {
    let spans: Vec<_> = (1..=index.lines() as u32)
        .map(|l| index.content(l))
        .collect();
    token_values(&spans, chars, 0.0)
}

/// How `tracealign build rewards` scores programs.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardOptions {
    /// Default: every scheme.
    pub schemes: Vec<Scheme>,
    pub weights: SensitiveWeights,
    pub contrast: ContrastOptions,
}

impl Default for RewardOptions {
    fn default() -> Self {
        RewardOptions {
            schemes: Scheme::ALL.to_vec(),
            weights: SensitiveWeights::default(),
            contrast: ContrastOptions::default(),
        }
    }
}

/// One program's reward under one scheme.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RewardRow {
    pub problem_id: String,
    pub sample_id: String,
    /// The scheme that produced the reward.
    pub scheme: &'static str,
    pub passed: bool,
    pub prompt: String,
    pub completion: String,
    /// The scalar reward; `null` for dense schemes.
    pub reward: Option<f64>,
    /// Dense schemes: one value per line of the program (`prompt + completion` when the
    /// program starts with the prompt); empty for scalar schemes.
    pub line_rewards: Vec<f64>,
    /// Dense schemes: one value per completion character, or per token of `input_ids` with a
    /// tokenizer (0 over the prompt); empty for scalar schemes.
    pub token_rewards: Vec<f64>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenColumns>,
}

/// What a build produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RewardSummary {
    pub rows: usize,
    /// Per scheme: rows and the mean scalar reward (or mean dense value per character).
    pub per_scheme: Vec<(&'static str, usize, f64)>,
    /// Programs without a fault report (no `fault_penalty` row).
    pub without_report: usize,
}

/// One row per program and scheme.
pub fn build(
    corpus: &Corpus,
    options: &RewardOptions,
    aligner: Option<&Aligner>,
) -> Result<(Vec<RewardRow>, RewardSummary)> {
    if options.schemes.contains(&Scheme::FaultPenalty) && !corpus.has_faults() {
        return Err(DatasetError::MissingEvidence {
            scheme: "fault_penalty",
            needed: "fault reports (--faults faults.jsonl from tracealign localize)",
        });
    }
    let mut rows = Vec::new();
    let mut summary = RewardSummary::default();
    let mut totals = vec![(0usize, 0.0); options.schemes.len()];
    for group in &corpus.groups {
        let reference = [group.problem.reference.as_str()];
        for execution in group.passing.iter().chain(&group.failing) {
            let others: Vec<&str> = if execution.passed {
                &group.failing
            } else {
                &group.passing
            }
            .iter()
            .map(|e| e.code.as_str())
            .collect();
            let contrast = if !execution.passed && others.is_empty() {
                &reference[..]
            } else {
                &others[..]
            };
            let evidence = Evidence {
                execution,
                fault: corpus.fault(execution),
                contrast,
                weights: options.weights,
                contrast_options: options.contrast,
            };
            summary.without_report += usize::from(corpus.has_faults() && evidence.fault.is_none());
            for (k, &scheme) in options.schemes.iter().enumerate() {
                if scheme == Scheme::FaultPenalty && evidence.fault.is_none() {
                    continue;
                }
                let reward = score(&evidence, scheme)?;
                let row = row(group.problem.prompt.as_str(), execution, reward, aligner)?;
                totals[k].0 += 1;
                totals[k].1 += row.reward.unwrap_or_else(|| mean(&row.token_rewards));
                rows.push(row);
            }
        }
    }
    summary.rows = rows.len();
    summary.per_scheme = options
        .schemes
        .iter()
        .zip(totals)
        .map(|(s, (n, total))| (s.name(), n, if n == 0 { 0.0 } else { total / n as f64 }))
        .collect();
    Ok((rows, summary))
}

fn row(
    prompt: &str,
    execution: &Execution,
    reward: Reward,
    aligner: Option<&Aligner>,
) -> Result<RewardRow> {
    let split = Split::of(prompt, &execution.code);
    let dense = reward.scheme.is_dense();
    let completion_values = split.cut(&reward.chars);
    let (tokens, token_rewards) = match aligner {
        Some(aligner) => {
            let sequence = aligner
                .sequence(split.prompt, split.completion, &completion_values, 0.0)
                .map_err(|e| e.at(&execution.sample_id, "program"))?;
            let (columns, values) = TokenColumns::split(sequence);
            (Some(columns), if dense { values } else { Vec::new() })
        }
        None => (None, completion_values),
    };
    Ok(RewardRow {
        problem_id: execution.problem_id.clone(),
        sample_id: execution.sample_id.clone(),
        scheme: reward.scheme.name(),
        passed: execution.passed,
        prompt: split.prompt.to_string(),
        completion: split.completion.to_string(),
        reward: reward.value,
        line_rewards: reward.lines,
        token_rewards,
        tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An execution as `tracealign run` writes it: `f` returns `x - 1`, raising on `x == 0`.
    fn execution(outcomes: &[&str]) -> Execution {
        let tests: Vec<serde_json::Value> = outcomes
            .iter()
            .enumerate()
            .map(|(k, &outcome)| match outcome {
                "error" => serde_json::json!({"name": format!("t{k}"), "outcome": "error",
                    "exc_type": "ZeroDivisionError", "message": "division by zero", "line": 3}),
                other => serde_json::json!({"name": format!("t{k}"), "outcome": other}),
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "problem_id": "p", "sample_id": "s",
            "code": "def f(x):\n    y = 1 / x\n    return y - 1\n",
            "status": {"kind": "ok"},
            "passed": outcomes.iter().all(|&o| o == "passed"),
            "tests": tests, "duration_ms": 1.0
        }))
        .unwrap()
    }

    fn value(execution: &Execution, scheme: Scheme) -> f64 {
        score(&Evidence::of(execution), scheme)
            .unwrap()
            .value
            .unwrap()
    }

    #[test]
    fn scalar_schemes_follow_the_outcomes() {
        let failed = execution(&["passed", "failed", "passed", "passed"]);
        assert_eq!(value(&failed, Scheme::Binary), 0.0);
        assert_eq!(value(&failed, Scheme::PassRatio), 0.75);
        assert_eq!(value(&failed, Scheme::Rltf), -0.3);
        assert!((value(&failed, Scheme::Adaptive) - (-0.3 + 1.3 * 0.75)).abs() < 1e-12);
        let raised = execution(&["passed", "error"]);
        assert_eq!(value(&raised, Scheme::Rltf), -0.6);
        let passed = execution(&["passed", "passed"]);
        assert_eq!(value(&passed, Scheme::Rltf), 1.0);
        assert!((value(&passed, Scheme::Adaptive) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_error_line_carries_the_coarse_penalty() {
        // Line 3 raised (the harness reports the line of the candidate's code).
        let raised = execution(&["passed", "error"]);
        let reward = score(&Evidence::of(&raised), Scheme::ErrorLine).unwrap();
        assert_eq!(reward.value, None);
        assert_eq!(reward.lines, vec![0.0, 0.0, -0.6, 0.0]);
        let penalized: String = raised
            .code
            .chars()
            .zip(&reward.chars)
            .filter(|(_, &v)| v != 0.0)
            .map(|(c, _)| c)
            .collect();
        assert_eq!(penalized, "return y - 1");
        assert!(matches!(
            score(&Evidence::of(&raised), Scheme::FaultPenalty),
            Err(DatasetError::MissingEvidence { .. })
        ));
        assert_eq!("pass_ratio".parse::<Scheme>().unwrap(), Scheme::PassRatio);
        assert!("nope".parse::<Scheme>().is_err());
    }
}
