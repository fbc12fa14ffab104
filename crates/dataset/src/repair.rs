//! Repair data: input = the problem, a failing program and feedback on it; output = the
//! fixed program. The fix is the passing program of the same problem nearest to the failing
//! one (fewest lines, then tokens, edited), else the problem's reference solution.
//!
//! Representations ([`Representation`]), each a plain-text prompt (chat templates are the
//! trainer's business) of sections `### Problem` (only when the program does not already
//! start with the problem's prompt), `### Buggy program`, `### Feedback`, then the request:
//! - `markers` (RepairLLaMA's buggy-lines markers): the region the fix rewrites
//!   ([`Hunk`]) between `# buggy code start` and `# buggy code end` comment lines; the
//!   feedback is the first failing test and its outcome; the completion is the whole fixed
//!   program.
//! - `cloze` (RepairLLaMA's IR4 × OR2): the region's lines commented out (`# buggy: ...`)
//!   followed by a `<FILL_ME>` line; the completion is only the fix's lines for the hole.
//! - `trace`: the whole program; the feedback is the failing test's execution trace rendered
//!   by `tracealign_trace::render` in the chosen style (headed by the test, its outcome and
//!   the first divergence from the reference solution's trace when the runs hold one),
//!   shrunk until the whole prompt fits the token budget; without a recorded trace (syntax
//!   errors, runs without `--trace full`) the feedback is the test and outcome alone. A
//!   prompt that cannot fit even then is left out and counted.
//!
//! - `feedback`: the whole program and the first failing test with its outcome, nothing more
//!   (the "test and error only" condition of trace-in-prompt repair studies).
//! - `fl-markers`: RepairLLaMA's markers around the lines a fault report finds most
//!   suspicious (the top [`RepairOptions::fl_lines`], ties included) instead of the region the
//!   fix rewrites, so nothing of the fix shows; needs fault reports (`--faults`), and a
//!   program without one gets no row.
//! - `unchanged` ("leave it alone", with [`RepairOptions::leave_alone`]): a program that
//!   passes every test, its feedback saying so, and itself as the completion, so a model
//!   trained on repairs also learns when not to edit.
//!
//! Tokens are counted with the tokenizer when one is given, else as characters / 4.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use tracealign_core::sample::reference_id;
use tracealign_core::Execution;
use tracealign_localize::diff::nearest;
use tracealign_trace::render::{
    self, CharsPerToken, RenderInput, RenderOptions, Style, TestContext, TokenCounter,
};
use tracealign_trace::{divergence::Side, first_divergence};

use crate::align::Aligner;
use crate::completion::Split;
use crate::corpus::{Corpus, Group};
use crate::error::{DatasetError, Result};
use crate::feedback::Failure;
use crate::hunk::Hunk;
use crate::rows::TokenColumns;

/// The fill token of the cloze representation.
pub const FILL_TOKEN: &str = "<FILL_ME>";

/// How the buggy program and feedback are shown (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Representation {
    Markers,
    Cloze,
    Trace,
    Feedback,
    FlMarkers,
    /// A passing program kept as it is (not in [`Representation::ALL`]: it is asked for
    /// with [`RepairOptions::leave_alone`]).
    Unchanged,
}

impl Representation {
    /// Every representation of a failing program.
    pub const ALL: [Representation; 5] = [
        Representation::Markers,
        Representation::Cloze,
        Representation::Trace,
        Representation::Feedback,
        Representation::FlMarkers,
    ];

    /// `markers`, `cloze`, `trace`, `feedback`, `fl-markers` or `unchanged`.
    pub fn name(self) -> &'static str {
        match self {
            Representation::Markers => "markers",
            Representation::Cloze => "cloze",
            Representation::Trace => "trace",
            Representation::Feedback => "feedback",
            Representation::FlMarkers => "fl-markers",
            Representation::Unchanged => "unchanged",
        }
    }
}

impl fmt::Display for Representation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Representation {
    type Err = DatasetError;

    fn from_str(name: &str) -> Result<Self> {
        Representation::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| DatasetError::InvalidOption {
                option: "--repr",
                expected: "markers, cloze, trace, feedback or fl-markers",
                value: name.to_string(),
            })
    }
}

/// How repair rows are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairOptions {
    /// Default: markers, cloze and trace.
    pub representations: Vec<Representation>,
    /// The trace's layout. Default: [`Style::Lines`].
    pub style: Style,
    /// The most tokens a `trace` prompt may take. Default: 2048.
    pub budget: usize,
    /// Also one `unchanged` row per passing program. Default: false.
    pub leave_alone: bool,
    /// How many of a fault report's most suspicious lines `fl-markers` marks (ties
    /// included). Default: 1.
    pub fl_lines: usize,
}

impl Default for RepairOptions {
    fn default() -> Self {
        RepairOptions {
            representations: Representation::ALL[..3].to_vec(),
            style: Style::Lines,
            budget: 2048,
            leave_alone: false,
            fl_lines: 1,
        }
    }
}

/// One repair example.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepairRow {
    pub problem_id: String,
    /// The failing program's sample id.
    pub sample_id: String,
    /// The sample id of the fix (`<problem>#reference` for the reference solution).
    pub fix_id: String,
    pub representation: &'static str,
    pub prompt: String,
    pub completion: String,
    /// The whole fixed program, whatever the completion is.
    pub fixed: String,
    /// The buggy program's lines the fix rewrites (empty when it only inserts).
    pub buggy_lines: Vec<u32>,
    /// Tokens of `prompt` by the counter in use.
    pub prompt_tokens: usize,
    /// The trace's style when the prompt holds a trace; `null` otherwise.
    pub trace_style: Option<&'static str>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenColumns>,
}

/// What a build produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RepairSummary {
    pub rows: usize,
    /// Rows per representation, in [`Representation::ALL`] order.
    pub per_representation: Vec<(&'static str, usize)>,
    /// Failing programs with no single region the fix rewrites (no markers or cloze row).
    pub without_region: usize,
    /// `trace` rows whose prompt holds a trace, and those left without one.
    pub with_trace: usize,
    pub without_trace: usize,
    /// `trace` prompts left out because even without the trace they exceed the budget.
    pub over_budget: usize,
    /// `unchanged` rows (passing programs left alone).
    pub unchanged: usize,
    /// Failing programs with no fault report (or nothing suspicious in it): no `fl-markers` row.
    pub without_report: usize,
}

/// Repair rows for every failing program of the corpus.
pub fn build(
    corpus: &Corpus,
    options: &RepairOptions,
    aligner: Option<&Aligner>,
) -> Result<(Vec<RepairRow>, RepairSummary)> {
    let counter: &dyn TokenCounter = match aligner {
        Some(aligner) => aligner,
        None => &CharsPerToken,
    };
    let mut rows = Vec::new();
    let mut summary = RepairSummary::default();
    for group in &corpus.groups {
        for failing in &group.failing {
            let fix = Fix::for_program(group, failing);
            let hunk = Hunk::between(&failing.code, fix.code);
            summary.without_region += usize::from(hunk.is_none());
            let example = Example {
                group,
                failing,
                fix: &fix,
                hunk: hunk.as_ref(),
            };
            for &representation in &options.representations {
                let made = match representation {
                    Representation::Markers => example.markers(),
                    Representation::Cloze => example.cloze(),
                    Representation::Trace => example.trace(options, counter, &mut summary),
                    Representation::Feedback => example.feedback(),
                    Representation::FlMarkers => {
                        let made = example.fl_markers(corpus, options.fl_lines);
                        summary.without_report += usize::from(made.is_none());
                        made
                    }
                    // Failing programs are never left alone.
                    Representation::Unchanged => None,
                };
                if let Some((prompt, completion, style)) = made {
                    rows.push(example.row(
                        representation,
                        prompt,
                        completion,
                        style,
                        counter,
                        aligner,
                    )?);
                }
            }
        }
    }
    if options.leave_alone {
        for group in &corpus.groups {
            for passing in &group.passing {
                rows.push(leave_alone(group, passing, counter, aligner)?);
                summary.unchanged += 1;
            }
        }
    }
    summary.rows = rows.len();
    summary.per_representation = Representation::ALL
        .iter()
        .map(|r| {
            (
                r.name(),
                rows.iter()
                    .filter(|row| row.representation == r.name())
                    .count(),
            )
        })
        .collect();
    Ok((rows, summary))
}

/// The `unchanged` row of a passing program: the program, feedback that its tests pass, and
/// the program again as the fix.
fn leave_alone(
    group: &Group<'_>,
    passing: &Execution,
    counter: &dyn TokenCounter,
    aligner: Option<&Aligner>,
) -> Result<RepairRow> {
    let fix = Fix {
        id: passing.sample_id.clone(),
        code: &passing.code,
    };
    let example = Example {
        group,
        failing: passing,
        fix: &fix,
        hunk: None,
    };
    let feedback = format!("All {} tests pass.", passing.tests.len());
    let prompt = example.prompt(&passing.code, &feedback, "### Fixed program\n");
    let completion = passing.code.clone();
    example.row(
        Representation::Unchanged,
        prompt,
        completion,
        None,
        counter,
        aligner,
    )
}

/// The program a failing one is repaired into.
struct Fix<'a> {
    id: String,
    code: &'a str,
}

impl<'a> Fix<'a> {
    fn for_program(group: &Group<'a>, failing: &Execution) -> Fix<'a> {
        let passing: Vec<&str> = group
            .passing
            .iter()
            .map(|e| e.code.as_str())
            .filter(|&code| code != failing.code)
            .collect();
        match nearest(&failing.code, &passing) {
            Some((code, _)) => Fix {
                id: group
                    .passing
                    .iter()
                    .find(|e| e.code == code)
                    .map_or_else(String::new, |e| e.sample_id.clone()),
                code,
            },
            None => Fix {
                id: reference_id(&group.problem.id),
                code: &group.problem.reference,
            },
        }
    }
}

/// One failing program and its fix, ready to be shown in any representation (for an
/// `unchanged` row, a passing program and itself).
struct Example<'a, 'g> {
    group: &'g Group<'a>,
    failing: &'g Execution,
    fix: &'g Fix<'a>,
    hunk: Option<&'g Hunk>,
}

type Made = Option<(String, String, Option<&'static str>)>;

impl Example<'_, '_> {
    fn markers(&self) -> Made {
        let hunk = self.hunk?;
        let program = around_region(&self.failing.code, hunk, |indent, region| {
            let mut text = format!("{indent}# buggy code start\n");
            text.push_str(region);
            text.push_str(&format!("{indent}# buggy code end\n"));
            text
        });
        let prompt = self.prompt(&program, &self.failure_text(), "### Fixed program\n");
        Some((prompt, self.fix.code.to_string(), None))
    }

    fn feedback(&self) -> Made {
        let prompt = self.prompt(
            &self.failing.code,
            &self.failure_text(),
            "### Fixed program\n",
        );
        Some((prompt, self.fix.code.to_string(), None))
    }

    fn fl_markers(&self, corpus: &Corpus<'_>, lines: usize) -> Made {
        let suspicious = corpus.fault(self.failing)?.most_suspicious(lines);
        if suspicious.is_empty() {
            return None;
        }
        let program = mark_lines(&self.failing.code, &suspicious);
        let prompt = self.prompt(&program, &self.failure_text(), "### Fixed program\n");
        Some((prompt, self.fix.code.to_string(), None))
    }

    fn cloze(&self) -> Made {
        let hunk = self.hunk?;
        let program = around_region(&self.failing.code, hunk, |indent, region| {
            let mut text: String = region
                .lines()
                .map(|line| format!("{indent}# buggy: {}\n", line.trim()))
                .collect();
            text.push_str(&format!("{indent}{FILL_TOKEN}\n"));
            text
        });
        let request = format!("### Code for {FILL_TOKEN}\n");
        let prompt = self.prompt(&program, &self.failure_text(), &request);
        Some((prompt, hunk.fill.clone(), None))
    }

    fn trace(
        &self,
        options: &RepairOptions,
        counter: &dyn TokenCounter,
        summary: &mut RepairSummary,
    ) -> Made {
        let request = "### Fixed program\n";
        let fits = |prompt: &String| counter.count(prompt) <= options.budget;
        if let Some(rendered) = self.rendered_trace(options, counter, request) {
            summary.with_trace += 1;
            return Some((
                rendered,
                self.fix.code.to_string(),
                Some(options.style.name()),
            ));
        }
        let prompt = self.prompt(&self.failing.code, &self.failure_text(), request);
        if !fits(&prompt) {
            summary.over_budget += 1;
            return None;
        }
        summary.without_trace += 1;
        Some((prompt, self.fix.code.to_string(), None))
    }

    /// The prompt with the trace as feedback, within the budget; `None` without a trace or
    /// when no rendering fits.
    fn rendered_trace(
        &self,
        options: &RepairOptions,
        counter: &dyn TokenCounter,
        request: &str,
    ) -> Option<String> {
        let failure = Failure::first(self.group.problem, self.failing)?;
        let index = failure.test?;
        let trace = self.failing.tests[index].trace.as_ref()?;
        let reference = reference_trace(self.group, index);
        let divergence = reference.and_then(|reference| {
            first_divergence(
                Side {
                    source: &self.failing.code,
                    trace,
                },
                Side {
                    source: &self.group.problem.reference,
                    trace: reference,
                },
            )
        });
        let input = RenderInput {
            source: &self.failing.code,
            trace,
            test: Some(TestContext {
                name: &failure.name,
                code: failure.code.as_deref(),
                outcome: &failure.outcome,
            }),
            divergence: divergence.as_ref(),
        };
        let frame = self.prompt(&self.failing.code, "", request);
        let mut budget = options.budget.checked_sub(counter.count(&frame))?;
        // Tokens of concatenated texts need not add up: shrink until the whole prompt fits.
        for _ in 0..4 {
            let rendered = render::render(
                &input,
                &RenderOptions {
                    style: options.style,
                    budget: Some(budget),
                    ..RenderOptions::default()
                },
                counter,
            );
            let prompt = self.prompt(&self.failing.code, &rendered.text, request);
            let used = counter.count(&prompt);
            if used <= options.budget {
                return Some(prompt);
            }
            budget = budget.checked_sub(used - options.budget)?;
        }
        None
    }

    fn failure_text(&self) -> String {
        Failure::first(self.group.problem, self.failing).map_or_else(String::new, |f| f.text())
    }

    /// The sections of a prompt (see the module docs).
    fn prompt(&self, program: &str, feedback: &str, request: &str) -> String {
        let problem = &self.group.problem.prompt;
        let mut text = String::new();
        if !problem.trim().is_empty() && Split::of(problem, &self.failing.code).offset == 0 {
            text.push_str("### Problem\n");
            text.push_str(problem.trim_end());
            text.push('\n');
        }
        text.push_str("### Buggy program\n");
        text.push_str(program);
        if !program.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("### Feedback\n");
        text.push_str(feedback.trim_end());
        text.push('\n');
        text.push_str(request);
        text
    }

    fn row(
        &self,
        representation: Representation,
        prompt: String,
        completion: String,
        style: Option<&'static str>,
        counter: &dyn TokenCounter,
        aligner: Option<&Aligner>,
    ) -> Result<RepairRow> {
        let tokens = match aligner {
            Some(aligner) => {
                let ones = vec![1.0; completion.chars().count()];
                let sequence = aligner
                    .sequence(&prompt, &completion, &ones, 1.0)
                    .map_err(|e| e.at(&self.failing.sample_id, "repair prompt"))?;
                Some(TokenColumns::split(sequence).0)
            }
            None => None,
        };
        Ok(RepairRow {
            problem_id: self.group.problem.id.clone(),
            sample_id: self.failing.sample_id.clone(),
            fix_id: self.fix.id.clone(),
            representation: representation.name(),
            prompt_tokens: counter.count(&prompt),
            prompt,
            completion,
            fixed: self.fix.code.to_string(),
            buggy_lines: self.hunk.map_or_else(Vec::new, Hunk::lines),
            trace_style: style,
            tokens,
        })
    }
}

/// The trace of test `index` of the problem's reference solution, when the runs hold one.
fn reference_trace<'a>(group: &Group<'a>, index: usize) -> Option<&'a tracealign_core::Trace> {
    group
        .passing
        .iter()
        .filter(|e| e.is_reference() && e.code == group.problem.reference)
        .find_map(|e| e.tests.get(index)?.trace.as_ref())
}

/// `code` with each run of consecutive `lines` (1-based) between `# buggy code start` and
/// `# buggy code end` comment lines at the run's indentation.
fn mark_lines(code: &str, lines: &[u32]) -> String {
    let marked = |n: usize| lines.contains(&(n as u32));
    let all: Vec<&str> = code.split_inclusive('\n').collect();
    let mut out = String::new();
    let mut indent = String::new();
    for (i, line) in all.iter().enumerate() {
        let n = i + 1;
        if marked(n) && !marked(n - 1) {
            indent = line.chars().take_while(|c| c.is_whitespace()).collect();
            out.push_str(&format!("{indent}# buggy code start\n"));
        }
        out.push_str(line);
        if marked(n) && !marked(n + 1) {
            if !line.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("{indent}# buggy code end\n"));
        }
    }
    out
}

/// `code` with the hunk's region replaced by `show(indent, region text)`.
fn around_region(code: &str, hunk: &Hunk, show: impl Fn(&str, &str) -> String) -> String {
    let lines: Vec<&str> = code.split_inclusive('\n').collect();
    let (first, last) = (hunk.first as usize, hunk.last as usize);
    let before: String = lines[..(first - 1).min(lines.len())].concat();
    let region: String = lines[(first - 1).min(lines.len())..last.min(lines.len())].concat();
    let after: String = lines[last.min(lines.len())..].concat();
    let shown = region
        .lines()
        .chain(lines.get(first - 1).copied())
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let indent: String = shown.chars().take_while(|c| c.is_whitespace()).collect();
    let mut before = before;
    if !before.is_empty() && !before.ends_with('\n') {
        before.push('\n');
    }
    let mut region = region;
    if !region.is_empty() && !region.ends_with('\n') {
        region.push('\n');
    }
    format!("{before}{}{after}", show(&indent, &region))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fl_markers_wrap_each_run_of_suspicious_lines() {
        let code = "def f(xs):\n    s = 0\n    for x in xs:\n        s -= x\n    return s";
        assert_eq!(
            mark_lines(code, &[2, 4, 5]),
            "def f(xs):\n    # buggy code start\n    s = 0\n    # buggy code end\n    for x in xs:\n        # buggy code start\n        s -= x\n    return s\n        # buggy code end\n"
        );
    }

    #[test]
    fn markers_and_cloze_wrap_the_region_at_its_indentation() {
        let code = "def f(xs):\n    s = 0\n    for x in xs:\n        s -= x\n    return s\n";
        let hunk = Hunk {
            first: 4,
            last: 4,
            fill: "        s += x\n".into(),
        };
        let marked = around_region(code, &hunk, |indent, region| {
            format!("{indent}# start\n{region}{indent}# end\n")
        });
        assert_eq!(
            marked,
            "def f(xs):\n    s = 0\n    for x in xs:\n        # start\n        s -= x\n        # end\n    return s\n"
        );
        let insertion = Hunk {
            first: 5,
            last: 4,
            fill: String::new(),
        };
        let marked = around_region(code, &insertion, |indent, region| {
            format!("{indent}<{region}>\n")
        });
        assert_eq!(
            marked,
            "def f(xs):\n    s = 0\n    for x in xs:\n        s -= x\n    <>\n    return s\n"
        );
    }
}
