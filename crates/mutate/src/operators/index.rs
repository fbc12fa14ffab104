//! Off-by-one indexing: `a[i]` → `a[i + 1]`, `a[i - 1]` → `a[i]`, `a[0]` → `a[1]`.

use tracealign_core::python::Node;

use crate::edit::Edit;
use crate::offset::Shifted;
use crate::syntax::{is_field, Program};
use crate::Operator;

/// Index expressions that can plausibly hold an integer. Strings, literals of other types
/// and containers are dictionary keys or tuple keys, where `+ 1` is not an indexing
/// mistake but a type error.
pub(super) const NUMERIC: [&str; 8] = [
    "integer",
    "unary_operator",
    "identifier",
    "binary_operator",
    "call",
    "attribute",
    "subscript",
    "parenthesized_expression",
];

pub(crate) fn edits(program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    if node.kind() != "subscript" {
        return Vec::new();
    }
    let mut cursor = node.walk();
    let indices: Vec<Node<'_>> = node
        .children_by_field_name("subscript", &mut cursor)
        .collect();
    indices
        .into_iter()
        .filter(|index| NUMERIC.contains(&index.kind()))
        .flat_map(|index| shift_by_one(program, index, Operator::Index))
        .collect()
}

/// `node` moved by +1 and by -1; shared with the slice operator, whose bounds are the
/// same kind of integer expression.
pub(super) fn shift_by_one(program: &Program<'_>, node: Node<'_>, operator: Operator) -> Vec<Edit> {
    let Some(shifted) = Shifted::of(program, node) else {
        return Vec::new();
    };
    [1, -1]
        .into_iter()
        .map(|delta| {
            let old = program.text(node);
            Edit::replace(operator, node.byte_range(), old, shifted.render(delta))
        })
        .collect()
}

/// Whether `node` lies inside the index or slice of some subscript (as opposed to the
/// subscripted value: in `f(3)[0]`, the `3` is not inside an index).
pub(crate) fn is_inside_index(node: Node<'_>) -> bool {
    let mut child = node;
    while let Some(parent) = child.parent() {
        let indexed = parent.kind() == "subscript" && is_field(parent, "subscript", child);
        if indexed || parent.kind() == "slice" {
            return true;
        }
        if parent.kind() == "function_definition" {
            return false;
        }
        child = parent;
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::{mutants_with, Operator};

    const PROGRAM: &str = "def pairs(a, d):\n    out = []\n    for i in range(1, len(a)):\n        out.append(a[i - 1] + a[i] + a[-1] + d[\"k\"])\n    return out\n";

    #[test]
    fn indices_move_by_one() {
        let found = mutants_with(PROGRAM, 0, &[Operator::Index]);
        let mut lines: Vec<&str> = found
            .iter()
            .map(|m| m.code.lines().nth(3).unwrap().trim())
            .collect();
        lines.sort();
        let mut expected = [
            "out.append(a[i] + a[i] + a[-1] + d[\"k\"])",
            "out.append(a[i - 2] + a[i] + a[-1] + d[\"k\"])",
            "out.append(a[i - 1] + a[i + 1] + a[-1] + d[\"k\"])",
            "out.append(a[i - 1] + a[i - 1] + a[-1] + d[\"k\"])",
            "out.append(a[i - 1] + a[i] + a[0] + d[\"k\"])",
            "out.append(a[i - 1] + a[i] + a[-2] + d[\"k\"])",
        ];
        expected.sort();
        assert_eq!(lines, expected);
        let m = found.iter().find(|m| m.code.contains("a[i - 2]")).unwrap();
        assert_eq!(m.operator, Operator::Index);
        assert_eq!(m.lines, vec![4]);
        assert_eq!(&m.code[m.span.0..m.span.1], "i - 2");
        assert_eq!(m.description, "`i - 1` → `i - 2`");
    }
}
