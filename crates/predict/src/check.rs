//! Judging a model's answer to a row, by execution where the semantics are Python's.
//!
//! - `output`: the answer and the right value are both read as Python literals
//!   (`ast.literal_eval`, in the sandbox: a model's answer is untrusted, and nothing in it
//!   runs) and compared with `==` and the same type (`True` is not `1` here); a wrong,
//!   unparsable or non-literal answer scores 0.
//! - `input`: the row's program called with the answer's arguments, in the sandbox as a
//!   sample's test is, its result compared outside that process (by the executor's own
//!   judgement) with what the row's own call returned: answer text never runs where the
//!   expected value is computed or the verdict is made. Only literal arguments count
//!   (CRUXEval's inputs are literals): an expression could rewrite the function instead.
//! - `path`: the answer's expansion against the lines that ran; partial credit is the
//!   longest common prefix over the longer length.
//! - `state`: each variable's value compared as `output` compares; partial credit is the
//!   share of the variables right; correct when all are, and no other is named;
//!   `state_category` the same, each category compared as text.
//!
//! [`Checker::fresh`] runs a row's call again (traced, on its own) and rebuilds the row's
//! answer from that execution: how rows are re-verified.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::json;
use tracealign_core::{Args, Execution, Language, Problem, Sample, TestCase, TestKind};
use tracealign_exec::{ExecConfig, ExecError, Executor, Script, ScriptEnd, TraceMode};

use crate::literal::literal_arguments;
use crate::path;
use crate::rows::{build_rows, Answer, PredictOptions, PredictRow, Task};

/// A verdict on one answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    pub correct: bool,
    /// In [0, 1]: 1 or 0 for `output`; partial for `path` and `state`.
    pub credit: f64,
}

impl Judgement {
    fn all_or_nothing(correct: bool) -> Judgement {
        Judgement {
            correct,
            credit: f64::from(u8::from(correct)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("the comparison did not run: {0}")]
    Comparison(String),
}

/// A model's answers to a set of rows, judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub rows: usize,
    pub correct: usize,
    /// Each row's verdict, in order.
    pub judgements: Vec<Judgement>,
}

impl Score {
    /// `answers.jsonl`'s text: per row its id, the answer, the right one, the verdict and
    /// the partial credit (`answers[i]` answers `rows[i]`, as judged here).
    pub fn answer_lines(&self, rows: &[PredictRow], answers: &[String]) -> String {
        (rows.iter().zip(answers).zip(&self.judgements))
            .map(|((row, answer), judged)| {
                json!({"id": row.id, "answer": answer, "expected": row.completion,
                       "correct": judged.correct, "credit": judged.credit})
                .to_string()
                    + "\n"
            })
            .collect()
    }

    /// The share answered right.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.rows.max(1) as f64
    }

    /// The mean partial credit.
    pub fn credit(&self) -> f64 {
        self.judgements.iter().map(|j| j.credit).sum::<f64>() / self.rows.max(1) as f64
    }
}

/// Runs what judging needs: a traced executor of its own.
pub struct Checker {
    executor: Executor,
}

/// Compares the pairs on stdin (`[[answer, expected], ...]`), printing one JSON list of
/// booleans: each side read by `ast.literal_eval` (literals only: an answer is untrusted
/// text, and one that ran could print a verdict and exit before the real one), equal by
/// `==` with the same type at every level of lists, tuples and dicts (so `1` is not `True`
/// inside them either).
const COMPARE: &str = r#"
import ast, json, sys
def same(a, e):
    if type(a) is not type(e):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(e) and all(same(x, y) for x, y in zip(a, e))
    if isinstance(a, dict):
        return a.keys() == e.keys() and all(same(a[k], e[k]) for k in a)
    return bool(a == e)
verdicts = []
for answer, expected in json.loads(sys.stdin.read()):
    try:
        verdicts.append(same(ast.literal_eval(answer), ast.literal_eval(expected)))
    except BaseException:
        verdicts.append(False)
print(json.dumps(verdicts))
"#;

impl Checker {
    pub fn start(python: PathBuf) -> Result<Checker, CheckError> {
        let mut config = ExecConfig::new(python);
        config.workers = 1;
        config.trace = TraceMode::Full;
        Ok(Checker {
            executor: Executor::start(config)?,
        })
    }

    /// `answer` (a model's completion) judged against `row`.
    pub fn judge(&self, row: &PredictRow, answer: &str) -> Result<Judgement, CheckError> {
        let answer = match row.kind {
            // The value follows the rationale, on the last `Answer:` line.
            Task::Rationale => answer.rsplit_once("Answer:").map_or("", |(_, value)| value),
            _ => answer,
        };
        let answer = unwrap_answer(answer);
        match &row.answer {
            Answer::Value { repr } => {
                let same = self.compare(&[(answer.to_string(), repr.clone())])?;
                Ok(Judgement::all_or_nothing(same[0]))
            }
            Answer::Lines { lines } => Ok(match path::expand(answer) {
                Some(predicted) => Judgement {
                    correct: &predicted == lines,
                    credit: path::credit(&predicted, lines),
                },
                None => Judgement::all_or_nothing(false),
            }),
            Answer::Vars { vars } => self.judge_vars(vars, answer),
            Answer::Categories { vars } => Ok(judge_categories(vars, answer)),
            Answer::Arguments { .. } => self.judge_input(row, answer),
        }
    }

    /// The row's program called with `answer` as its arguments: right when it returns what
    /// the row's own call returned. The expected value comes from preparing the row's own
    /// call (the program is its own reference); the answer only replaces the arguments of
    /// the call a sample's process makes, and the verdict is the executor's.
    fn judge_input(&self, row: &PredictRow, answer: &str) -> Result<Judgement, CheckError> {
        if !literal_arguments(answer) {
            // An expression could change the function it is passed to (its `__code__`,
            // a global it reads) instead of finding an input: only literals count.
            return Ok(Judgement::all_or_nothing(false));
        }
        let problem = call_problem(row, &row.args);
        let mut prepared = self
            .executor
            .prepare(std::slice::from_ref(&problem), None, |_| {})?;
        let test = &mut prepared[0].tests[0];
        if !matches!(test.check, tracealign_exec::plan::Check::Equal(_)) {
            return Err(CheckError::Comparison(format!(
                "row {}: its own call has no value to compare with",
                row.id
            )));
        }
        test.wire["call"] = json!(format!("candidate({answer})"));
        let mut runs: Vec<Execution> = Vec::new();
        self.executor
            .run(&prepared, &[sample(row, &problem)], |e| runs.push(e));
        Ok(Judgement::all_or_nothing(
            runs.first().is_some_and(|e| e.passed),
        ))
    }

    fn judge_vars(&self, vars: &[(String, String)], answer: &str) -> Result<Judgement, CheckError> {
        let vars: BTreeMap<&str, &str> =
            vars.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let given: BTreeMap<&str, &str> = (answer.lines())
            .filter_map(|line| line.split_once('='))
            .map(|(name, value)| (name.trim(), value.trim()))
            .collect();
        let pairs: Vec<(String, String)> = (vars.iter())
            .filter_map(|(name, repr)| Some((given.get(name)?.to_string(), repr.to_string())))
            .collect();
        let right = self.compare(&pairs)?.iter().filter(|&&same| same).count();
        let extra = given.keys().any(|name| !vars.contains_key(name));
        Ok(Judgement {
            correct: right == vars.len() && !extra,
            credit: right as f64 / vars.len().max(1) as f64,
        })
    }

    /// Python's verdict on each (answer, expected) pair of source texts.
    fn compare(&self, pairs: &[(String, String)]) -> Result<Vec<bool>, CheckError> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let script = Script {
            code: COMPARE.to_string(),
            stdin: json!(pairs).to_string(),
            timeout_s: 10.0,
            ..Script::default()
        };
        let run = self.executor.run_script(&script)?;
        match (
            &run.end,
            serde_json::from_str::<Vec<bool>>(run.stdout.trim()),
        ) {
            (ScriptEnd::Exited { code: 0 }, Ok(verdicts)) if verdicts.len() == pairs.len() => {
                Ok(verdicts)
            }
            _ => Err(CheckError::Comparison(format!(
                "{:?}: {}{}",
                run.end, run.stdout, run.stderr
            ))),
        }
    }

    /// `answers[i]` judged against `rows[i]`.
    pub fn score(&self, rows: &[PredictRow], answers: &[String]) -> Result<Score, CheckError> {
        let judgements = (rows.iter().zip(answers))
            .map(|(row, answer)| self.judge(row, answer))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Score {
            rows: judgements.len(),
            correct: judgements.iter().filter(|j| j.correct).count(),
            judgements,
        })
    }

    /// The row rebuilt from a fresh traced execution of its call (`None` when that run
    /// gives no such row: it raised, or a value lost its exact form).
    pub fn fresh(&self, row: &PredictRow) -> Result<Option<PredictRow>, CheckError> {
        let problem = call_problem(row, &row.args);
        let prepared = self
            .executor
            .prepare(std::slice::from_ref(&problem), None, |_| {})?;
        let mut runs: Vec<Execution> = Vec::new();
        self.executor
            .run(&prepared, &[sample(row, &problem)], |e| runs.push(e));
        let options = PredictOptions {
            tasks: vec![row.kind],
            per_problem: 1,
            failing: true,
        };
        let rebuilt = build_rows(&[problem], &runs, &options);
        Ok(rebuilt
            .into_iter()
            .find(|r| r.line.is_none() || r.line == row.line))
    }
}

/// A problem of one call of the row's entry point with `args`, the row's program its own
/// reference.
fn call_problem(row: &PredictRow, args: &str) -> Problem {
    Problem {
        id: row.id.clone(),
        language: Language::Python,
        prompt: String::new(),
        entry_point: row.entry_point.clone(),
        reference: row.code.clone(),
        tests: vec![TestCase {
            name: row.test.clone(),
            kind: TestKind::Call {
                args: Args::Python(args.to_string()),
                expected: None,
            },
        }],
        atol: None,
    }
}

/// The row's program as a sample of `problem`.
fn sample(row: &PredictRow, problem: &Problem) -> Sample {
    Sample {
        problem_id: problem.id.clone(),
        sample_id: row.sample_id.clone(),
        code: row.code.clone(),
        model: None,
        mutation: None,
    }
}

/// `name = category` lines against the right categories: credit is the share right.
fn judge_categories(vars: &[(String, String)], answer: &str) -> Judgement {
    let given: BTreeMap<&str, &str> = (answer.lines())
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.trim(), value.trim().trim_matches('`')))
        .collect();
    let right = (vars.iter())
        .filter(|(name, category)| given.get(name.as_str()) == Some(&category.as_str()))
        .count();
    let extra = (given.keys()).any(|name| !vars.iter().any(|(n, _)| n == name));
    Judgement {
        correct: right == vars.len() && !extra,
        credit: right as f64 / vars.len().max(1) as f64,
    }
}

/// The answer inside a code fence or backticks, trimmed.
fn unwrap_answer(answer: &str) -> &str {
    let mut text = answer.trim();
    if let Some(inner) = text.strip_prefix("```") {
        let inner = inner.split_once('\n').map_or(inner, |(_, rest)| rest);
        text = inner.trim_end().strip_suffix("```").unwrap_or(inner).trim();
    }
    text.trim_matches('`').trim()
}
