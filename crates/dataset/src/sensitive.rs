//! Error-sensitive segments (FAIT): where a program differs from similar programs with the
//! other verdict, at two granularities — the lines a diff changes, then the tokens within
//! those lines — and the per-character weights they give.
//!
//! The diff is `tracealign_localize::diff`: lines compared by their tree-sitter tokens (so
//! formatting, comments and docstrings never count), then the tokens of each changed hunk.
//! Only lines of *this* program can be weighted: where the other program merely inserts code,
//! nothing here changes and nothing is weighted.

use std::collections::BTreeSet;
use std::ops::Range;

use tracealign_localize::diff::{diff, LineDiff};

use crate::lines::LineIndex;

/// FAIT's two extra weights. Tokens that differ weigh `1 + alpha`, the rest of their lines
/// `1 + beta`, everything else 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SensitiveWeights {
    /// Extra weight of the tokens that differ. Default: 1.0.
    pub alpha: f64,
    /// Extra weight of the rest of a line that differs. Default: 0.5.
    pub beta: f64,
}

impl Default for SensitiveWeights {
    fn default() -> Self {
        SensitiveWeights {
            alpha: 1.0,
            beta: 0.5,
        }
    }
}

/// The parts of a program that differ from other programs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Segments {
    /// 1-based lines of the program that the others replace or delete.
    pub lines: BTreeSet<u32>,
    /// Character spans of the program's tokens that differ, within `lines`.
    pub spans: Vec<Range<usize>>,
}

impl Segments {
    /// Where `program` differs from `other` (the diff of `program` against `other`).
    pub fn between(program: &str, other: &str) -> Segments {
        Segments::from_diff(&diff(program, other), &LineIndex::new(program))
    }

    /// The segments a diff of the program found.
    pub fn from_diff(found: &LineDiff, index: &LineIndex) -> Segments {
        Segments {
            lines: found.changed.iter().copied().collect(),
            spans: found.spans.iter().map(|&s| index.chars_of(s)).collect(),
        }
    }

    /// The union of two sets of segments.
    pub fn merge(&mut self, other: Segments) {
        self.lines.extend(other.lines);
        self.spans.extend(other.spans);
    }

    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.spans.is_empty()
    }

    /// Per-character weights of the program: `1 + alpha` on differing tokens, `1 + beta` on
    /// the rest of the content of differing lines (not their indentation), 1 elsewhere.
    pub fn weights(&self, index: &LineIndex, weights: &SensitiveWeights) -> Vec<f64> {
        let mut values = vec![1.0; index.chars()];
        for &line in &self.lines {
            values[index.content(line)].fill(1.0 + weights.beta);
        }
        for span in &self.spans {
            values[span.clone()].fill(1.0 + weights.alpha);
        }
        values
    }

    /// Per-character mask of the program: 1 on differing tokens, 0 elsewhere.
    pub fn token_mask(&self, index: &LineIndex) -> Vec<f64> {
        let mut values = vec![0.0; index.chars()];
        for span in &self.spans {
            values[span.clone()].fill(1.0);
        }
        values
    }
}

/// The share of `program`'s code lines that a diff changes: how dissimilar the other program
/// is (0 for programs equal up to formatting, 1 when no line is kept).
pub fn changed_share(found: &LineDiff) -> f64 {
    let total = found.changed.len() + found.lines_kept;
    if total == 0 {
        return 1.0;
    }
    found.changed.len() as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSING: &str =
        "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n";
    const FAILING: &str =
        "def total(xs):\n    s = 0\n    for x in xs:\n        s -= x\n    return s\n";

    #[test]
    fn the_differing_token_weighs_most_then_its_line() {
        let segments = Segments::between(PASSING, FAILING);
        assert_eq!(segments.lines, BTreeSet::from([4]));
        let index = LineIndex::new(PASSING);
        let weights = segments.weights(&index, &SensitiveWeights::default());
        let chars: Vec<char> = PASSING.chars().collect();
        let weighted = |w: f64| -> String {
            (0..chars.len())
                .filter(|&i| weights[i] == w)
                .map(|i| chars[i])
                .collect()
        };
        assert_eq!(weighted(2.0), "+=");
        assert_eq!(
            weighted(1.5),
            "s  x",
            "the rest of line 4, not its indentation"
        );
        assert_eq!(
            weights.iter().filter(|&&w| w == 1.0).count(),
            chars.len() - 6
        );
    }

    #[test]
    fn dissimilar_programs_change_a_large_share() {
        let rewritten = "def total(xs):\n    return sum(xs)\n";
        let near = diff(PASSING, FAILING);
        let far = diff(PASSING, rewritten);
        assert!(changed_share(&near) < 0.3, "{near:?}");
        assert!(changed_share(&far) > 0.7, "{far:?}");
    }
}
