//! Arithmetic operator swaps: `a + b` → `a - b`, `total += x` → `total -= x`.

use tracealign_core::python::Node;

use crate::edit::Edit;
use crate::syntax::{is_string, Program};
use crate::Operator;

/// The natural slips for each arithmetic operator, at most two, most likely first: sign
/// confusion, multiplication vs (floor) division or power, true vs floor division, modulo
/// vs floor division. `+` → `*` is deliberately absent: it is not a slip people make, and
/// on `x + 1` it yields the do-nothing `x * 1`. Bitwise and matrix operators are left
/// alone: they are rare in the programs we mutate and their confusions are not arithmetic
/// mistakes.
fn replacements(operator: &str) -> &'static [&'static str] {
    match operator {
        "+" => &["-"],
        "-" => &["+"],
        "*" => &["//", "**"],
        "/" => &["//", "*"],
        "//" => &["/", "%"],
        "%" => &["//"],
        "**" => &["*"],
        _ => &[],
    }
}

pub(crate) fn edits(program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    let Some(operator) = node.child_by_field_name("operator") else {
        return Vec::new();
    };
    let text = program.text(operator);
    let (symbol, suffix) = match node.kind() {
        "binary_operator" if !has_string_operand(node) => (text, ""),
        "augmented_assignment" => match text.strip_suffix('=') {
            Some(symbol) => (symbol, "="),
            None => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    replacements(symbol)
        .iter()
        .map(|new| {
            Edit::replace(
                Operator::Arithmetic,
                operator.byte_range(),
                text,
                format!("{new}{suffix}"),
            )
        })
        .collect()
}

/// `"%d" % n` is formatting and `s + "!"` concatenation: swapping their operator is a
/// guaranteed `TypeError`, not an arithmetic mistake.
fn has_string_operand(node: Node<'_>) -> bool {
    ["left", "right"]
        .iter()
        .filter_map(|field| node.child_by_field_name(field))
        .any(is_string)
}

#[cfg(test)]
mod tests {
    use crate::{mutants_with, Operator};

    const PROGRAM: &str =
        "def total(xs):\n    s = 0\n    for x in xs:\n        s += x * 2\n    return s\n";

    #[test]
    fn swaps_binary_and_augmented_operators() {
        let found = mutants_with(PROGRAM, 3, &[Operator::Arithmetic]);
        let codes: Vec<&str> = found.iter().map(|m| m.code.as_str()).collect();
        let minus_eq = found
            .iter()
            .find(|m| m.code.contains("s -= x * 2"))
            .expect("`+=` → `-=`");
        assert_eq!(minus_eq.operator, Operator::Arithmetic);
        assert_eq!(minus_eq.lines, vec![4]);
        assert_eq!(&minus_eq.code[minus_eq.span.0..minus_eq.span.1], "-=");
        assert_eq!(minus_eq.description, "`+=` → `-=`");
        assert_eq!(
            minus_eq.code,
            "def total(xs):\n    s = 0\n    for x in xs:\n        s -= x * 2\n    return s\n"
        );
        assert!(codes.iter().any(|c| c.contains("s += x // 2")), "{codes:?}");
        assert!(codes.iter().any(|c| c.contains("s += x ** 2")));
        assert_eq!(found.len(), 3);
    }

    #[test]
    fn leaves_string_formatting_alone() {
        let code = "def show(n):\n    return \"%d items\" % n + \"!\"\n";
        assert!(mutants_with(code, 0, &[Operator::Arithmetic]).is_empty());
    }
}
