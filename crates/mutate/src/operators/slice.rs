//! Slice bound mistakes: `a[i:j]` → `a[i + 1:j]`, `a[i:j - 1]` → `a[i:j]`, a bound
//! dropped (`a[1:]` → `a[:]`) or added (`a[i:]` → `a[i:-1]`, `a[:j]` → `a[1:j]`).

use tracealign_core::python::Node;

use super::index::{shift_by_one, NUMERIC};
use crate::edit::{shorten, Edit};
use crate::offset::literal_value;
use crate::syntax::Program;
use crate::Operator;

/// The parts of a slice `start:stop:step`, and where its first colon is.
struct Parts<'t> {
    start: Option<Node<'t>>,
    stop: Option<Node<'t>>,
    step: Option<Node<'t>>,
    colon: Node<'t>,
}

impl<'t> Parts<'t> {
    /// The slice grammar has no fields, so parts are told apart by the colons before them.
    fn of(node: Node<'t>) -> Option<Parts<'t>> {
        let mut parts = [None, None, None];
        let mut colons = Vec::new();
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if child.kind() == ":" {
                colons.push(child);
            } else if child.is_named() && child.kind() != "comment" {
                *parts.get_mut(colons.len())? = Some(child);
            }
        }
        let [start, stop, step] = parts;
        Some(Parts {
            start,
            stop,
            step,
            colon: *colons.first()?,
        })
    }
}

pub(crate) fn edits(program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    if node.kind() != "slice" {
        return Vec::new();
    }
    let Some(parts) = Parts::of(node) else {
        return Vec::new();
    };
    let mut edits = Vec::new();
    for bound in [parts.start, parts.stop].into_iter().flatten() {
        if NUMERIC.contains(&bound.kind()) {
            edits.extend(shift_by_one(program, bound, Operator::SliceBounds));
        }
        edits.extend(drop(program, bound));
    }
    // With a step (`a[::-1]`) the meaning of a missing bound depends on the step's sign,
    // so adding one is no longer the simple off-by-one it is for a forward slice.
    if parts.step.is_none() {
        edits.extend(add_missing(&parts));
    }
    edits
}

/// The bound removed. Dropping a start of `0` changes nothing, so it is not offered.
fn drop(program: &Program<'_>, bound: Node<'_>) -> Option<Edit> {
    let text = program.text(bound);
    if bound.kind() == "integer" && literal_value(text) == Some(0) {
        return None;
    }
    let description = format!("dropped slice bound `{}`", shorten(text));
    Some(Edit::described(
        Operator::SliceBounds,
        bound.byte_range(),
        "",
        description,
    ))
}

/// A missing start becomes `1` (skipping the first element), a missing stop `-1`
/// (losing the last one): the two classic slicing slips.
fn add_missing(parts: &Parts<'_>) -> Vec<Edit> {
    let colon = parts.colon;
    let mut edits = Vec::new();
    if parts.start.is_none() {
        let at = colon.start_byte();
        let description = "added slice start `1`".to_string();
        edits.push(Edit::described(
            Operator::SliceBounds,
            at..at,
            "1",
            description,
        ));
    }
    if parts.stop.is_none() {
        let at = colon.end_byte();
        let description = "added slice stop `-1`".to_string();
        edits.push(Edit::described(
            Operator::SliceBounds,
            at..at,
            "-1",
            description,
        ));
    }
    edits
}

#[cfg(test)]
mod tests {
    use crate::{mutants_with, Operator};

    fn line_two(code: &str) -> &str {
        code.lines().nth(1).unwrap().trim()
    }

    #[test]
    fn bounds_shift_drop_and_appear() {
        let code = "def parts(a, i):\n    return a[i:len(a) - 1], a[1:], a[::-1]\n";
        let found = mutants_with(code, 0, &[Operator::SliceBounds]);
        let mut lines: Vec<&str> = found.iter().map(|m| line_two(&m.code)).collect();
        lines.sort();
        let mut expected = [
            "return a[i + 1:len(a) - 1], a[1:], a[::-1]",
            "return a[i - 1:len(a) - 1], a[1:], a[::-1]",
            "return a[:len(a) - 1], a[1:], a[::-1]",
            "return a[i:len(a)], a[1:], a[::-1]",
            "return a[i:len(a) - 2], a[1:], a[::-1]",
            "return a[i:], a[1:], a[::-1]",
            "return a[i:len(a) - 1], a[2:], a[::-1]",
            "return a[i:len(a) - 1], a[0:], a[::-1]",
            "return a[i:len(a) - 1], a[:], a[::-1]",
            "return a[i:len(a) - 1], a[1:-1], a[::-1]",
        ];
        expected.sort();
        assert_eq!(lines, expected);
    }

    #[test]
    fn spans_of_shift_drop_and_add() {
        let code = "def tail(a):\n    x = 0\n    return a[x:]\n";
        let found = mutants_with(code, 0, &[Operator::SliceBounds]);
        let added = found.iter().find(|m| m.code.contains("a[x:-1]")).unwrap();
        assert_eq!(added.code, "def tail(a):\n    x = 0\n    return a[x:-1]\n");
        assert_eq!(added.operator, Operator::SliceBounds);
        assert_eq!(&added.code[added.span.0..added.span.1], "-1");
        assert_eq!(added.lines, vec![3]);
        let dropped = found.iter().find(|m| m.code.contains("a[:]")).unwrap();
        assert_eq!(dropped.span.0, dropped.span.1);
        assert_eq!(&dropped.code[dropped.span.0..dropped.span.0 + 1], ":");
        assert_eq!(dropped.lines, vec![3]);
        assert_eq!(dropped.description, "dropped slice bound `x`");
        let shifted = found.iter().find(|m| m.code.contains("a[x + 1:]")).unwrap();
        assert_eq!(&shifted.code[shifted.span.0..shifted.span.1], "x + 1");
    }
}
