//! Turning an [`Edit`] of the original program into a checked [`Mutant`].

use std::ops::Range;

use tracealign_core::python::{InputEdit, Parser};

use crate::edit::Edit;
use crate::syntax::{point_at, reparse_clean, Program};
use crate::Mutant;

/// Applies `edit` to `program`; `None` when the result is the original text or does not
/// parse cleanly (a syntax error is not the kind of fault we want to localize).
pub(crate) fn apply(parser: &mut Parser, program: &Program<'_>, edit: Edit) -> Option<Mutant> {
    let original = program.source();
    let Edit {
        range,
        replacement,
        operator,
        description,
        anchors,
    } = edit;
    let code = format!(
        "{}{}{}",
        &original[..range.start],
        replacement,
        &original[range.end..]
    );
    if code == original {
        return None;
    }
    let change = input_edit(original, &code, &range, replacement.len());
    reparse_clean(parser, program.tree(), &change, &code)?;
    let span = (range.start, range.start + replacement.len());
    let mut lines: Vec<u32> = anchors
        .iter()
        .map(|&at| line_at(&code, moved(at, &range, replacement.len())))
        .collect();
    lines.sort_unstable();
    lines.dedup();
    if lines.is_empty() {
        lines = covered_lines(&code, span);
    }
    Some(Mutant {
        code,
        operator,
        lines,
        span,
        description,
    })
}

/// The edit in tree-sitter's terms, for incremental re-parsing.
fn input_edit(original: &str, code: &str, range: &Range<usize>, inserted: usize) -> InputEdit {
    let new_end = range.start + inserted;
    InputEdit {
        start_byte: range.start,
        old_end_byte: range.end,
        new_end_byte: new_end,
        start_position: point_at(original, range.start),
        old_end_position: point_at(original, range.end),
        new_end_position: point_at(code, new_end),
    }
}

/// Where a byte offset of the original text lands in the edited text.
fn moved(at: usize, range: &Range<usize>, inserted: usize) -> usize {
    if at < range.end {
        at.min(range.start + inserted)
    } else {
        at - range.len() + inserted
    }
}

/// The lines a span covers; an empty span covers the line it sits on.
fn covered_lines(code: &str, (start, end): (usize, usize)) -> Vec<u32> {
    let last = if end > start { end - 1 } else { start };
    (line_at(code, start)..=line_at(code, last)).collect()
}

/// The 1-based line holding byte `at`.
fn line_at(code: &str, at: usize) -> u32 {
    let newlines = code.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{parse_clean, python_parser};
    use crate::Operator;

    fn edit(range: Range<usize>, replacement: &str) -> Edit {
        Edit::replace(Operator::Arithmetic, range, "", replacement)
    }

    fn try_apply(original: &str, edit: Edit) -> Option<Mutant> {
        let mut parser = python_parser();
        let tree = parse_clean(&mut parser, original).unwrap();
        apply(&mut parser, &Program::new(original, tree), edit)
    }

    #[test]
    fn lines_cover_the_replacement() {
        let original = "x = 1\ny = x + 2\n";
        let m = try_apply(original, edit(12..13, "-")).unwrap();
        assert_eq!(m.code, "x = 1\ny = x - 2\n");
        assert_eq!(m.lines, vec![2]);
        assert_eq!(&m.code[m.span.0..m.span.1], "-");
    }

    #[test]
    fn identical_or_broken_results_are_dropped() {
        let original = "x = 1\n";
        assert!(try_apply(original, edit(4..5, "1")).is_none());
        assert!(try_apply(original, edit(4..5, "(")).is_none());
    }

    #[test]
    fn incremental_reparse_sees_new_errors() {
        let original = "def f(x):\n    if x:\n        return 1\n    return 2\n";
        assert!(
            try_apply(original, edit(18..19, "")).is_none(),
            "`if x` without `:`"
        );
        assert!(try_apply(original, edit(17..17, "not ")).is_some());
    }

    #[test]
    fn points_count_rows_and_byte_columns() {
        assert_eq!(
            point_at("ab\ncd", 4),
            tracealign_core::python::Point::new(1, 1)
        );
        assert_eq!(point_at("ab", 0), tracealign_core::python::Point::new(0, 0));
    }

    #[test]
    fn anchors_move_with_the_edit() {
        let range = 10..20;
        assert_eq!(moved(5, &range, 0), 5);
        assert_eq!(moved(25, &range, 0), 15);
        assert_eq!(moved(25, &range, 4), 19);
    }
}
