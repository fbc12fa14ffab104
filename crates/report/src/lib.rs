//! The report: one self-contained HTML file (inline CSS and SVG, no script, nothing fetched)
//! that opens anywhere, including on a machine with no network.
//!
//! [`Report`] is plain data the caller fills in (the CLI reads it from a pipeline or eval
//! directory); [`Report::to_html`] lays it out. Charts are SVG drawn by `plotters`.

mod charts;
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
    /// Localization accuracy per method against known faults (a `random` row for scale).
    pub localization: Vec<LocalizationRow>,
    /// What the localization figures mean here (e.g. why they are an upper bound).
    pub localization_note: Option<String>,
    /// A few training rows with their per-token (or per-character) weights.
    pub weighted_rows: Vec<WeightedText>,
    /// Failing programs, each with its heat map, failing test, divergence and trace.
    pub programs: Vec<ProgramSection>,
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
    /// The whole page.
    pub fn to_html(&self) -> String {
        let mut body = String::new();
        body.push_str(&sections::header(self));
        body.push_str(&sections::figures(&self.figures));
        if let Some(evaluation) = &self.evaluation {
            body.push_str(&sections::evaluation(evaluation));
        }
        if !self.localization.is_empty() {
            body.push_str(&sections::localization(
                &self.localization,
                self.localization_note.as_deref(),
            ));
        }
        if !self.programs.is_empty() {
            body.push_str(&sections::programs(&self.programs));
        }
        if !self.weighted_rows.is_empty() {
            body.push_str(&sections::weighted_rows(&self.weighted_rows));
        }
        if !self.files.is_empty() {
            body.push_str(&sections::files(&self.files));
        }
        markup::page(&self.title, &body)
    }
}
