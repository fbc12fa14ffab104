//! Multi-granularity diff of a faulty program against a fix (as in FAIT): which lines the
//! fix replaces or deletes, then which tokens within those lines.
//!
//! Lines are compared by their tokens (so indentation, spacing and comments do not count)
//! over code lines only (see [`Program::code_lines`]). A hunk that only inserts lines blames
//! the faulty program's line before the insertion (the one after which code is missing).

use crate::program::{Program, Token};

/// What a fix changes in a faulty program.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineDiff {
    /// Faulty-program lines the fix replaces or deletes.
    pub changed: Vec<u32>,
    /// Faulty-program lines after which the fix inserts code (pure insertions).
    pub insertions: Vec<u32>,
    /// Byte spans of the faulty program's tokens that the fix changes, inside `changed`.
    pub spans: Vec<(usize, usize)>,
    /// Unmatched lines on both sides: the size of the fix.
    pub lines_edited: usize,
    /// Unmatched tokens on both sides, inside the changed hunks.
    pub tokens_edited: usize,
    /// Code lines of the faulty program that the fix keeps as they are.
    pub lines_kept: usize,
    /// Faulty lines in hunks the fix rewrites with a different number of lines: there, no
    /// faulty line has a counterpart in the fix.
    pub rewritten: Vec<u32>,
}

impl LineDiff {
    /// Every line the fix touches: changed lines and insertion points, ascending.
    pub fn blamed_lines(&self) -> Vec<u32> {
        let mut lines: Vec<u32> = self
            .changed
            .iter()
            .chain(&self.insertions)
            .copied()
            .collect();
        lines.sort_unstable();
        lines.dedup();
        lines
    }
}

/// A program's code lines with their token texts.
struct Lines {
    numbers: Vec<u32>,
    keys: Vec<String>,
    tokens: Vec<Vec<Token>>,
}

impl Lines {
    fn of(program: &Program) -> Lines {
        let tokens = program.tokens();
        let numbers = program.code_lines();
        let per_line: Vec<Vec<Token>> = numbers
            .iter()
            .map(|&n| tokens.iter().filter(|t| t.line == n).cloned().collect())
            .collect();
        let keys = per_line
            .iter()
            .map(|ts| {
                ts.iter()
                    .map(|t| t.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        Lines {
            numbers,
            keys,
            tokens: per_line,
        }
    }
}

/// Diffs `faulty` against `fix`.
pub fn diff(faulty: &str, fix: &str) -> LineDiff {
    let (a, b) = (
        Lines::of(&Program::parse(faulty)),
        Lines::of(&Program::parse(fix)),
    );
    let mut result = LineDiff::default();
    let anchors = common_subsequence(&a.keys, &b.keys);
    result.lines_kept = anchors.len();
    let (mut i, mut j) = (0, 0);
    for (ai, bj) in anchors.into_iter().chain([(a.keys.len(), b.keys.len())]) {
        if ai > i || bj > j {
            hunk(&a, i..ai, &b, j..bj, &mut result);
        }
        (i, j) = (ai + 1, bj + 1);
    }
    result
}

/// One changed region: faulty lines `ours`, fix lines `theirs`.
fn hunk(
    a: &Lines,
    ours: std::ops::Range<usize>,
    b: &Lines,
    theirs: std::ops::Range<usize>,
    result: &mut LineDiff,
) {
    result.lines_edited += ours.len() + theirs.len();
    if ours.is_empty() {
        let before = ours
            .start
            .checked_sub(1)
            .or((!a.numbers.is_empty()).then_some(0));
        result.insertions.extend(before.map(|k| a.numbers[k]));
        return;
    }
    result.changed.extend(&a.numbers[ours.clone()]);
    if ours.len() != theirs.len() {
        result.rewritten.extend(&a.numbers[ours.clone()]);
    }
    let our_tokens: Vec<&Token> = a.tokens[ours].iter().flatten().collect();
    let their_tokens: Vec<&Token> = b.tokens[theirs].iter().flatten().collect();
    let texts = |ts: &[&Token]| ts.iter().map(|t| t.text.clone()).collect::<Vec<_>>();
    let matched = common_subsequence(&texts(&our_tokens), &texts(&their_tokens));
    result.tokens_edited += our_tokens.len() + their_tokens.len() - 2 * matched.len();
    let kept: std::collections::HashSet<usize> = matched.iter().map(|&(x, _)| x).collect();
    result.spans.extend(
        our_tokens
            .iter()
            .enumerate()
            .filter(|(k, _)| !kept.contains(k))
            .map(|(_, t)| (t.start, t.end)),
    );
}

/// Index pairs of a longest common subsequence.
pub fn common_subsequence<T: PartialEq>(a: &[T], b: &[T]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let mut table = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if a[i] == b[j] {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            pairs.push((i, j));
            (i, j) = (i + 1, j + 1);
        } else if table[i + 1][j] >= table[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

/// The fix nearest to `faulty` among `fixes` (fewest lines edited, then fewest tokens),
/// with its diff; `None` when there are none.
pub fn nearest<'f>(faulty: &str, fixes: &[&'f str]) -> Option<(&'f str, LineDiff)> {
    fixes
        .iter()
        .map(|&fix| (fix, diff(faulty, fix)))
        .min_by_key(|(_, d)| (d.lines_edited, d.tokens_edited))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXED: &str = "def total(xs):\n    \"\"\"Sum.\"\"\"\n    s = 0\n    for x in xs:\n        s += x\n    return s\n";

    #[test]
    fn a_two_line_change_blames_both_lines_and_only_the_changed_tokens() {
        let faulty = "def total(xs):\n    \"\"\"Sum.\"\"\"\n    s = 1\n    for x in xs:\n        s -= x\n    return s\n";
        let d = diff(faulty, FIXED);
        assert_eq!(d.changed, vec![3, 5]);
        assert!(d.insertions.is_empty());
        let texts: Vec<&str> = d.spans.iter().map(|&(s, e)| &faulty[s..e]).collect();
        assert_eq!(texts, ["1", "-="]);
        assert_eq!((d.lines_edited, d.tokens_edited), (4, 4));
    }

    #[test]
    fn formatting_comments_and_docstrings_do_not_count() {
        let faulty = "def total(xs):\n    s = 0  # start\n    for x in xs:\n\n        s  +=  x\n    return s\n";
        let d = diff(faulty, FIXED);
        assert_eq!(
            d,
            LineDiff {
                lines_kept: 5,
                ..LineDiff::default()
            }
        );
    }

    #[test]
    fn a_missing_line_blames_the_line_before() {
        let faulty = "def total(xs):\n    s = 0\n    for x in xs:\n        pass\n    return s\n";
        let fixed = "def total(xs):\n    s = 0\n    for x in xs:\n        pass\n        s += x\n    return s\n";
        let d = diff(faulty, fixed);
        assert!(d.changed.is_empty());
        assert_eq!(d.insertions, vec![4]);
        assert_eq!(d.blamed_lines(), vec![4]);
    }

    #[test]
    fn nearest_fix_is_the_smallest_edit() {
        let faulty = "def f(x):\n    return x - 1\n";
        let near = "def f(x):\n    return x + 1\n";
        let far = "def f(x):\n    y = x\n    y += 1\n    return y\n";
        let (fix, d) = nearest(faulty, &[far, near]).unwrap();
        assert_eq!(fix, near);
        assert_eq!(d.changed, vec![2]);
    }
}
