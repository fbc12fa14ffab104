//! Comparison mistakes: the opposite test (`==` → `!=`, `<` → `>`, `in` → `not in`) and
//! the off-by-one boundary (`<` → `<=`).
//!
//! Both act on each operator of a comparison separately, so a chain `a < b <= c` offers
//! one site per operator.

use tracealign_core::python::Node;

use crate::edit::Edit;
use crate::syntax::Program;
use crate::Operator;

/// The opposite comparison. `<` → `>` (not `>=`): the realistic slip is getting the
/// direction wrong; the strictness slip is [`boundary`]'s job.
fn opposite(symbol: &str) -> Option<&'static str> {
    Some(match symbol {
        "==" => "!=",
        "!=" => "==",
        "<" => ">",
        ">" => "<",
        "<=" => ">=",
        ">=" => "<=",
        "in" => "not in",
        "not in" => "in",
        "is" => "is not",
        "is not" => "is",
        _ => return None,
    })
}

/// The same direction with the other strictness.
fn boundary(symbol: &str) -> Option<&'static str> {
    Some(match symbol {
        "<" => "<=",
        "<=" => "<",
        ">" => ">=",
        ">=" => ">",
        _ => return None,
    })
}

pub(crate) fn opposite_edits(program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    swap_each(program, node, Operator::Comparison, opposite)
}

pub(crate) fn boundary_edits(program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    swap_each(program, node, Operator::Boundary, boundary)
}

fn swap_each(
    program: &Program<'_>,
    node: Node<'_>,
    operator: Operator,
    swap: fn(&str) -> Option<&'static str>,
) -> Vec<Edit> {
    if node.kind() != "comparison_operator" {
        return Vec::new();
    }
    let mut cursor = node.walk();
    let symbols: Vec<Node<'_>> = node
        .children_by_field_name("operators", &mut cursor)
        .collect();
    symbols
        .into_iter()
        .filter_map(|symbol| {
            let text = program.text(symbol);
            // `not in` / `is not` may be written with any whitespace between the words.
            let normalized = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let new = swap(&normalized)?;
            Some(Edit::replace(operator, symbol.byte_range(), text, new))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{mutants_with, Operator};

    const PROGRAM: &str = "def find(xs, k):\n    for i in range(len(xs)):\n        if xs[i] == k and k not in xs[:i]:\n            return i\n    return -1\n";

    #[test]
    fn opposite_comparisons() {
        let found = mutants_with(PROGRAM, 0, &[Operator::Comparison]);
        assert_eq!(found.len(), 2);
        let ne = found
            .iter()
            .find(|m| m.code.contains("xs[i] != k"))
            .unwrap();
        assert_eq!(
            ne.code,
            "def find(xs, k):\n    for i in range(len(xs)):\n        if xs[i] != k and k not in xs[:i]:\n            return i\n    return -1\n"
        );
        assert_eq!(ne.operator, Operator::Comparison);
        assert_eq!(ne.lines, vec![3]);
        assert_eq!(&ne.code[ne.span.0..ne.span.1], "!=");
        let in_ = found
            .iter()
            .find(|m| m.code.contains("k in xs[:i]"))
            .unwrap();
        assert_eq!(&in_.code[in_.span.0..in_.span.1], "in");
        assert_eq!(in_.description, "`not in` → `in`");
    }

    #[test]
    fn boundaries_in_a_chain() {
        let code = "def between(a, x, b):\n    return a < x >= b\n";
        let found = mutants_with(code, 0, &[Operator::Boundary]);
        let mut codes: Vec<&str> = found.iter().map(|m| m.code.as_str()).collect();
        codes.sort();
        assert_eq!(
            codes,
            [
                "def between(a, x, b):\n    return a < x > b\n",
                "def between(a, x, b):\n    return a <= x >= b\n",
            ]
        );
        let le = found.iter().find(|m| m.code.contains("a <= x")).unwrap();
        assert_eq!(le.operator, Operator::Boundary);
        assert_eq!(le.lines, vec![2]);
        assert_eq!(&le.code[le.span.0..le.span.1], "<=");
        assert_eq!(le.description, "`<` → `<=`");
    }

    #[test]
    fn equality_has_no_boundary() {
        let code = "def same(a, b):\n    return a == b\n";
        assert!(mutants_with(code, 0, &[Operator::Boundary]).is_empty());
    }
}
