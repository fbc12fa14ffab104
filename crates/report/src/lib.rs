//! The report: one self-contained HTML file (inline CSS, SVG and script, nothing fetched)
//! that opens anywhere, including on a machine with no network.
//!
//! [`Report`] is plain data the caller fills in (the CLI reads it from a pipeline or eval
//! directory); [`Report::to_html`] lays it out. Charts are SVG drawn by `plotters`. Every
//! failing program is in the page; a small inline script pages and filters the lists (without
//! it, every program is a collapsed section, still reachable from the per-problem table).

mod charts;
mod lists;
mod markup;
mod sections;

pub use markup::escape;

use tracealign_eval::accuracy::Accuracy;
use tracealign_eval::Evaluation;

/// Everything the report shows. Empty parts are left out of the page.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub title: String,
    /// One line under the title: what ran, on what, when.
    pub subtitle: String,
    /// The headline numbers, as cards.
    pub figures: Vec<Figure>,
    pub evaluation: Option<Evaluation>,
    /// One row per model, shown side by side when the runs hold several.
    pub models: Vec<ModelRow>,
    /// One row per problem: its samples, outcomes and most suspicious line.
    pub problems: Vec<ProblemRow>,
    /// Localization accuracy per method against known faults (a `random` row for scale).
    pub localization: Vec<LocalizationRow>,
    /// What the localization figures mean here (e.g. why they are an upper bound).
    pub localization_note: Option<String>,
    /// A few training rows with their per-token (or per-character) weights.
    pub weighted_rows: Vec<WeightedText>,
    /// The user's failing programs, each with its heat map, failing test, divergence and trace.
    pub programs: Vec<ProgramSection>,
    /// Synthetic faults (mutants of the reference solutions) with their known faulty lines:
    /// shown apart, never counted with the user's programs.
    pub mutants: Vec<ProgramSection>,
    /// Output files of the run, with their row counts.
    pub files: Vec<(String, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LocalizationRow {
    pub method: String,
    pub accuracy: Accuracy,
}

/// One model's evaluation, for the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRow {
    pub model: String,
    pub evaluation: Evaluation,
    /// Problems this model solved (some sample passed) and no other model did.
    pub solved_alone: usize,
}

/// One problem in the per-problem table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProblemRow {
    pub problem_id: String,
    pub samples: usize,
    pub passed: usize,
    /// Failing samples per category, most first.
    pub failures: Vec<(String, usize)>,
    /// `(passed, samples)` per model, in the order of [`Report::models`], when there are several.
    pub by_model: Vec<(usize, usize)>,
    /// The most suspicious line of the problem's first failing program with a fault report.
    pub top_line: Option<TopLine>,
    /// Index into [`Report::programs`] of the problem's first failing program.
    pub first_program: Option<usize>,
}

/// A fault report's most suspicious line.
#[derive(Debug, Clone, PartialEq)]
pub struct TopLine {
    pub sample_id: String,
    pub line: u32,
    pub text: String,
    pub score: f64,
}

/// Text in pieces (model tokens, or characters), each with its training weight.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedText {
    pub title: String,
    pub pieces: Vec<(String, f64)>,
}

/// One failing program.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProgramSection {
    pub problem_id: String,
    pub sample_id: String,
    /// The model that wrote it, when the runs say.
    pub model: Option<String>,
    /// Its failure category (`wrong_answer`, `runtime_error:IndexError`, ...).
    pub verdict: String,
    pub code: String,
    /// Suspiciousness per 1-based line, from the fault report.
    pub scores: Vec<(u32, f64)>,
    /// The lines known to be faulty (a mutant's), when known.
    pub faulty_lines: Vec<u32>,
    /// The first failing test and how it ended.
    pub failing_test: Option<String>,
    pub outcome: Option<String>,
    /// The first divergence from the reference, in words.
    pub divergence: Option<String>,
    /// The failing test's trace, rendered as text.
    pub trace: Option<String>,
}

impl Report {
    /// The whole page: each part a `<section data-part="…">` (left out when empty).
    pub fn to_html(&self) -> String {
        let mut parts: Vec<(&str, String)> = vec![
            ("header", sections::header(self)),
            ("figures", sections::figures(&self.figures)),
            ("contents", sections::contents(self)),
        ];
        if let Some(evaluation) = &self.evaluation {
            parts.push(("evaluation", sections::evaluation(evaluation)));
            parts.push(("categories", sections::failure_categories(evaluation)));
        }
        if self.models.len() > 1 {
            parts.push(("models", sections::models(&self.models)));
        }
        if !self.problems.is_empty() {
            parts.push(("problems", lists::problems(&self.problems, &self.models)));
        }
        if !self.programs.is_empty() {
            parts.push(("programs", lists::programs(&self.programs)));
        }
        if !self.localization.is_empty() {
            let note = self.localization_note.as_deref();
            parts.push((
                "localization",
                sections::localization(&self.localization, note),
            ));
        }
        if !self.mutants.is_empty() {
            parts.push(("mutants", lists::mutants(&self.mutants)));
        }
        if !self.weighted_rows.is_empty() {
            parts.push(("weights", sections::weighted_rows(&self.weighted_rows)));
        }
        if !self.files.is_empty() {
            parts.push(("files", sections::files(&self.files)));
        }
        let body: String = (parts.into_iter())
            .filter(|(_, html)| !html.is_empty())
            .map(|(part, html)| format!("<section data-part=\"{part}\">\n{html}</section>\n"))
            .collect();
        markup::page(&self.title, &body)
    }
}
