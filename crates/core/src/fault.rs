//! Where a program's faults are: injected ones (the ground truth of a mutant) and localized
//! ones (a [`FaultReport`], the lines of `faults.jsonl`).
//!
//! Spans are **character** offsets (Unicode scalar values) into the program, half-open, so
//! that Python's `code[start:end]` is the span; Rust code converts with [`char_span`].

use serde::{Deserialize, Serialize};

/// A fault put into a program on purpose: which edit, where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectedFault {
    /// The mutation operator's name (`boundary`, `variable_misuse`, ...).
    pub operator: String,
    /// 1-based lines of the faulty program that hold the fault.
    pub lines: Vec<u32>,
    /// `[start, end)` in characters of the faulty program: the replacement text (empty for a
    /// pure deletion).
    pub span: (usize, usize),
    /// The edit in words, e.g. "`<` → `<=`".
    pub description: String,
    /// The sample the fault was put into.
    pub origin: String,
}

/// A localizer's verdict on one program: every candidate line with its suspiciousness,
/// most suspicious first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultReport {
    pub problem_id: String,
    pub sample_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The localization method (`combined`, `ochiai`, ...).
    pub method: String,
    /// Whether the program passed every test (then nothing is suspicious).
    pub passed: bool,
    /// The program the report is about, so a report can be shown and turned into training
    /// data without the samples file.
    pub code: String,
    /// Every line that can hold a fault (code lines; not blank lines, comments, docstrings or
    /// module-level test scaffolding), most suspicious first; ties keep line order.
    pub lines: Vec<LineFault>,
    /// Character spans within suspicious lines, where a method can point inside a line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<SpanFault>,
}

/// One line's suspiciousness and the signals behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineFault {
    pub line: u32,
    pub score: f64,
    /// Which localizers fired on this line (`exception`, `divergence`, `ochiai`, `diff`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<String>,
}

/// A suspicious span of characters, `[start, end)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanFault {
    pub start: usize,
    pub end: usize,
    pub score: f64,
}

impl FaultReport {
    /// The 1-based rank of `line`, counting ties pessimistically (a line tied with others
    /// ranks as the last of them); `None` when the line is not a candidate line.
    pub fn rank_of(&self, line: u32) -> Option<usize> {
        let score = self.lines.iter().find(|l| l.line == line)?.score;
        Some(self.lines.iter().filter(|l| l.score >= score).count())
    }

    /// The `top` most suspicious lines, ties with the last of them included, score above 0,
    /// most suspicious first.
    pub fn most_suspicious(&self, top: usize) -> Vec<u32> {
        let suspicious: Vec<&LineFault> = self.lines.iter().filter(|l| l.score > 0.0).collect();
        let Some(cutoff) = top
            .checked_sub(1)
            .and_then(|last| suspicious.get(last.min(suspicious.len().saturating_sub(1))))
        else {
            return Vec::new();
        };
        suspicious
            .iter()
            .filter(|l| l.score >= cutoff.score)
            .map(|l| l.line)
            .collect()
    }

    /// The best (pessimistic) rank among `lines`; `None` when none is a candidate line.
    pub fn best_rank(&self, lines: &[u32]) -> Option<usize> {
        lines.iter().filter_map(|&l| self.rank_of(l)).min()
    }
}

/// Character offsets of a byte span of `text` (both ends on char boundaries).
pub fn char_span(text: &str, bytes: (usize, usize)) -> (usize, usize) {
    let chars = |end: usize| text[..end].chars().count();
    (chars(bytes.0), chars(bytes.1))
}

/// Byte offsets of a character span of `text` (clamped to the text).
pub fn byte_span(text: &str, chars: (usize, usize)) -> (usize, usize) {
    let byte = |n: usize| text.char_indices().nth(n).map_or(text.len(), |(i, _)| i);
    (byte(chars.0), byte(chars.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_convert_between_chars_and_bytes() {
        let text = "é = 'ü' + x";
        let bytes = (text.find('x').unwrap(), text.len());
        assert_eq!(char_span(text, bytes), (10, 11));
        assert_eq!(byte_span(text, (10, 11)), bytes);
    }

    #[test]
    fn ties_rank_pessimistically() {
        let line = |line, score| LineFault {
            line,
            score,
            signals: vec![],
        };
        let report = FaultReport {
            problem_id: "p".into(),
            sample_id: "s".into(),
            model: None,
            method: "m".into(),
            passed: false,
            code: String::new(),
            lines: vec![line(2, 0.9), line(3, 0.9), line(1, 0.5), line(4, 0.0)],
            spans: vec![],
        };
        assert_eq!(report.rank_of(2), Some(2));
        assert_eq!(report.rank_of(1), Some(3));
        assert_eq!(report.rank_of(4), Some(4));
        assert_eq!(report.rank_of(7), None);
        assert_eq!(report.best_rank(&[4, 1]), Some(3));
        assert_eq!(report.most_suspicious(1), [2, 3], "a tie comes along");
        assert_eq!(report.most_suspicious(3), [2, 3, 1]);
        assert_eq!(
            report.most_suspicious(9),
            [2, 3, 1],
            "a zero score is not suspicious"
        );
        assert!(report.most_suspicious(0).is_empty());
    }
}
