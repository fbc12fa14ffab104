//! The localization methods, one name each, and the report each produces.

use tracealign_core::fault::char_span;
use tracealign_core::{FaultReport, LineFault, SpanFault};

use crate::diff::nearest;
use crate::divergence::divergence_scores;
use crate::evidence::{Evidence, LineScores, Run};
use crate::exception::exception_scores;
use crate::mutation::mutation_scores;
use crate::program::Program;
use crate::recency::recency_scores;
use crate::spectrum::{Formula, Spectrum};
use crate::undefined::undefined_name_scores;
use crate::values::novel_value_scores;

/// A way of scoring lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Ochiai,
    Tarantula,
    DStar,
    /// Reference-trace divergence and its data dependencies.
    Divergence,
    /// Lines producing values the reference never produced on the same test.
    Values,
    /// Lines whose mutants change what failing tests see (Metallaxis).
    Mutation,
    /// The line that raised and the frames above it.
    Exception,
    /// The function using a name the program defines nowhere (a missing import or helper).
    Undefined,
    /// Line, then token, diff against the nearest fix.
    Diff,
    /// How late in the failing runs a line last ran.
    Recency,
    /// Baseline: the line that raised, else the last line that ran.
    Trivial,
    /// A weighted sum of the signals above (see [`Weights`]).
    Combined,
}

impl Method {
    pub const ALL: [Method; 12] = [
        Method::Combined,
        Method::Divergence,
        Method::Values,
        Method::Mutation,
        Method::Exception,
        Method::Undefined,
        Method::Diff,
        Method::Ochiai,
        Method::Tarantula,
        Method::DStar,
        Method::Recency,
        Method::Trivial,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Ochiai => "ochiai",
            Method::Tarantula => "tarantula",
            Method::DStar => "dstar",
            Method::Divergence => "divergence",
            Method::Values => "values",
            Method::Mutation => "mutation",
            Method::Exception => "exception",
            Method::Undefined => "undefined",
            Method::Diff => "diff",
            Method::Recency => "recency",
            Method::Trivial => "trivial",
            Method::Combined => "combined",
        }
    }

    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// The combination's weight per signal (see [`Signals`]); `DEFAULT` was fitted on mutants of our embedded problems only (see
/// `tracealign bench localize --fit`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    pub divergence: f64,
    pub values: f64,
    pub mutation: f64,
    pub exception: f64,
    pub undefined: f64,
    pub diff: f64,
    pub ochiai: f64,
    pub recency: f64,
    pub trivial: f64,
}

impl Weights {
    /// Fitted by `tracealign bench localize --fit --per-problem 4 --mutation-budget 20` on
    /// 200 killed mutants of the embedded problems, and nothing else (best fits there: top-1
    /// 91.0%, top-3 97.5%, EXAM 0.024; refitted after the literal-initialisation, literal-
    /// return and undefined-name rules: the same weights). Ochiai orders the lines the
    /// failing tests ran; the divergence lifts the line it blames (and, at half, its data dependencies) above them;
    /// mutants and novel values add a little where the divergence is silent, and recency
    /// breaks the ties left. `exception` is 0.1 rather than the fit's 0 (top-1 90.5% there):
    /// without traces or coverage (a plain run) the line that raised is the only runtime
    /// evidence left. `diff` cannot be fitted on mutants (it would see their origin); 0.5
    /// puts it on the order of the divergence. Nor can `undefined` (mutants rarely lose a
    /// definition): a name the program defines nowhere is certain evidence, so it outweighs
    /// all the other signals together.
    pub const DEFAULT: Weights = Weights {
        divergence: 0.3,
        values: 0.1,
        mutation: 0.1,
        exception: 0.1,
        undefined: 3.0,
        diff: 0.5,
        ochiai: 1.0,
        recency: 0.01,
        trivial: 0.0,
    };
}

/// Line scores and token spans from one method.
#[derive(Debug, Clone, Default)]
pub struct Localization {
    pub lines: LineScores,
    /// Byte spans with their scores.
    pub spans: Vec<((usize, usize), f64)>,
    /// Per line, the signals that fired there.
    pub signals: std::collections::BTreeMap<u32, Vec<&'static str>>,
}

/// Scores the subject's lines with `method`.
pub fn localize(evidence: &Evidence, method: Method, weights: &Weights) -> Localization {
    match method {
        Method::Ochiai => spectrum(evidence, Formula::Ochiai).into(),
        Method::Tarantula => spectrum(evidence, Formula::Tarantula).into(),
        Method::DStar => spectrum(evidence, Formula::DStar).into(),
        Method::Divergence => evidence
            .reference
            .map(|r| divergence_scores(&evidence.subject, &r))
            .unwrap_or_default()
            .into(),
        Method::Values => evidence
            .reference
            .map(|r| novel_value_scores(&evidence.subject, &r))
            .unwrap_or_default()
            .into(),
        Method::Mutation => mutation_scores(&evidence.subject, evidence.mutants).into(),
        Method::Exception => exception_scores(&evidence.subject).into(),
        Method::Undefined => undefined_name_scores(&evidence.subject).into(),
        Method::Recency => recency_scores(&evidence.subject).into(),
        Method::Trivial => trivial(evidence).into(),
        Method::Diff => diff(evidence),
        Method::Combined => combined(evidence, weights),
    }
}

impl From<LineScores> for Localization {
    fn from(lines: LineScores) -> Localization {
        Localization {
            lines,
            ..Localization::default()
        }
    }
}

fn spectrum(evidence: &Evidence, formula: Formula) -> LineScores {
    Spectrum::from_execution(evidence.subject.execution)
        .map(|s| {
            s.scores(formula)
                .into_iter()
                .map(|l| (l.line, l.score))
                .collect()
        })
        .unwrap_or_default()
}

fn diff(evidence: &Evidence) -> Localization {
    let Some((_, diff)) = nearest(evidence.subject.code, &evidence.fixes) else {
        return Localization::default();
    };
    Localization {
        lines: diff.blamed_lines().into_iter().map(|l| (l, 1.0)).collect(),
        spans: diff.spans.iter().map(|&s| (s, 1.0)).collect(),
        ..Localization::default()
    }
}

/// The line that raised in the first failing test that raised, else the last line the
/// first failing test ran.
fn trivial(evidence: &Evidence) -> LineScores {
    let run = &evidence.subject;
    let raised = run.failing_tests().find_map(|t| run.error_line(t));
    let last_ran = || {
        let test = run.failing_tests().next()?;
        let trace = run.trace(test)?;
        trace.events.last().map(|e| e.line)
    };
    raised
        .or_else(last_ran)
        .map(|l| (l, 1.0))
        .into_iter()
        .collect()
}

fn combined(evidence: &Evidence, weights: &Weights) -> Localization {
    Signals::of(evidence).combine(weights)
}

/// The combination's inputs for one program: each signal's localization, every one already
/// a score in 0..=1 (a share of failing tests, or Ochiai's cosine), capped at 1 where a line
/// collects more. Not rescaled per program: a weak signal (a divergence blamed on a line
/// whose pairing with the reference is a guess) stays weak. Computed once, combined under
/// many weights when fitting.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    parts: Vec<(Method, Localization)>,
}

impl Signals {
    pub fn of(evidence: &Evidence) -> Signals {
        let parts = [
            Method::Divergence,
            Method::Values,
            Method::Mutation,
            Method::Exception,
            Method::Undefined,
            Method::Diff,
            Method::Ochiai,
            Method::Recency,
            Method::Trivial,
        ]
        .into_iter()
        .map(|method| {
            let mut part = localize(evidence, method, &Weights::DEFAULT);
            part.lines.values_mut().for_each(|s| *s = s.min(1.0));
            if method == Method::Ochiai {
                lift_deciders(&mut part.lines, evidence.subject.code);
            }
            (method, part)
        })
        .collect();
        Signals { parts }
    }

    /// Each signal's line scores, by method name (for looking into a ranking).
    pub fn parts(&self) -> impl Iterator<Item = (&'static str, &LineScores)> {
        self.parts.iter().map(|(m, l)| (m.name(), &l.lines))
    }

    /// The weighted sum of the signals.
    pub fn combine(&self, weights: &Weights) -> Localization {
        let mut result = Localization::default();
        for (method, part) in &self.parts {
            let weight = weights.of(*method);
            if weight == 0.0 {
                continue;
            }
            for (&line, &score) in part.lines.iter().filter(|(_, &s)| s > 0.0) {
                *result.lines.entry(line).or_default() += weight * score;
                result.signals.entry(line).or_default().push(method.name());
            }
            result
                .spans
                .extend(part.spans.iter().map(|&(s, v)| (s, v * weight)));
        }
        result
    }
}

/// Spectra blame the branch a failing run took rather than the condition that took it: a
/// `return False` run only by failing tests outscores the `if` above it. A literal return
/// computes nothing, so in the combination the condition that chose its branch scores at
/// least as much as the return (the pure formulas are left as they are).
fn lift_deciders(scores: &mut LineScores, code: &str) {
    for (ret, decider) in Program::parse(code).literal_return_deciders() {
        if let Some(&score) = scores.get(&ret) {
            let lifted = scores.entry(decider).or_default();
            *lifted = lifted.max(score);
        }
    }
}

impl Weights {
    fn of(&self, method: Method) -> f64 {
        match method {
            Method::Divergence => self.divergence,
            Method::Values => self.values,
            Method::Mutation => self.mutation,
            Method::Exception => self.exception,
            Method::Undefined => self.undefined,
            Method::Diff => self.diff,
            Method::Ochiai => self.ochiai,
            Method::Recency => self.recency,
            Method::Trivial => self.trivial,
            _ => 0.0,
        }
    }
}

/// The report of `method` on the evidence's subject: every code line, most suspicious first.
pub fn report(evidence: &Evidence, method: Method, weights: &Weights) -> FaultReport {
    let found = if evidence.subject.execution.passed {
        Localization::default()
    } else {
        localize(evidence, method, weights)
    };
    report_from(&evidence.subject, method, &found)
}

/// The report of a localization already made.
pub fn report_from(subject: &Run, method: Method, found: &Localization) -> FaultReport {
    let mut lines: Vec<LineFault> = Program::parse(subject.code)
        .fault_lines()
        .into_iter()
        .map(|line| LineFault {
            line,
            score: finite(found.lines.get(&line).copied().unwrap_or(0.0)),
            signals: signals_at(found, method, line),
        })
        .collect();
    lines.sort_by(|a, b| b.score.total_cmp(&a.score));
    let spans = found
        .spans
        .iter()
        .map(|&(bytes, score)| {
            let (start, end) = char_span(subject.code, bytes);
            SpanFault { start, end, score }
        })
        .collect();
    let execution = subject.execution;
    FaultReport {
        problem_id: execution.problem_id.clone(),
        sample_id: execution.sample_id.clone(),
        model: execution.model.clone(),
        method: method.name().to_string(),
        passed: execution.passed,
        code: subject.code.to_string(),
        lines,
        spans,
    }
}

fn signals_at(found: &Localization, method: Method, line: u32) -> Vec<String> {
    match found.signals.get(&line) {
        Some(signals) => signals.iter().map(|s| s.to_string()).collect(),
        None if found.lines.get(&line).is_some_and(|&s| s > 0.0) => vec![method.name().into()],
        None => vec![],
    }
}

/// JSON has no infinity: DStar's "as suspicious as can be" becomes the largest finite score.
fn finite(score: f64) -> f64 {
    if score.is_infinite() {
        f64::MAX
    } else {
        score
    }
}
