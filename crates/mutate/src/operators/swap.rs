//! Swapped arguments: `divmod(a, b)` → `divmod(b, a)`, `range(lo, hi)` → `range(hi, lo)`.

use tracealign_core::python::Node;

use crate::edit::{shorten, Edit};
use crate::syntax::{code_children, Program};
use crate::Operator;

/// Calls whose positional arguments commute: swapping them is an equivalent mutant that
/// no test can detect, so it would only pollute the benchmark.
const SYMMETRIC: [&str; 5] = ["max", "min", "gcd", "lcm", "hypot"];

/// Arguments that are not plain positional values.
const NOT_POSITIONAL: [&str; 4] = [
    "keyword_argument",
    "list_splat",
    "dictionary_splat",
    "parenthesized_list_splat",
];

pub(crate) fn edits(program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    if node.kind() != "call" || is_symmetric(program, node) {
        return Vec::new();
    }
    let Some(arguments) = node.child_by_field_name("arguments") else {
        return Vec::new();
    };
    if arguments.kind() != "argument_list" {
        return Vec::new();
    }
    let arguments = code_children(arguments);
    arguments
        .windows(2)
        .filter(|pair| pair.iter().all(|a| !NOT_POSITIONAL.contains(&a.kind())))
        .filter_map(|pair| swap(program, pair[0], pair[1]))
        .collect()
}

fn swap(program: &Program<'_>, first: Node<'_>, second: Node<'_>) -> Option<Edit> {
    let (a, b) = (program.text(first), program.text(second));
    if a == b {
        return None;
    }
    let between = &program.source()[first.end_byte()..second.start_byte()];
    let description = format!("swapped `{}` and `{}`", shorten(a), shorten(b));
    let range = first.start_byte()..second.end_byte();
    Some(Edit::described(
        Operator::SwapArguments,
        range,
        format!("{b}{between}{a}"),
        description,
    ))
}

/// Whether the called function (by its last name: `math.gcd` is `gcd`) is symmetric.
fn is_symmetric(program: &Program<'_>, call: Node<'_>) -> bool {
    let Some(function) = call.child_by_field_name("function") else {
        return false;
    };
    let name = match function.kind() {
        "attribute" => function.child_by_field_name("attribute"),
        _ => Some(function),
    };
    name.is_some_and(|n| SYMMETRIC.contains(&program.text(n)))
}

#[cfg(test)]
mod tests {
    use crate::{mutants_with, Operator};

    #[test]
    fn adjacent_positional_arguments_swap() {
        let code = "def f(a, b, xs):\n    q, r = divmod(a, b)\n    return sorted(xs, key=abs), range(a, a), max(a, b), pow(q, r, 7)\n";
        let found = mutants_with(code, 0, &[Operator::SwapArguments]);
        let mut codes: Vec<&str> = found.iter().map(|m| m.code.as_str()).collect();
        codes.sort();
        assert_eq!(
            codes,
            [
                "def f(a, b, xs):\n    q, r = divmod(a, b)\n    return sorted(xs, key=abs), range(a, a), max(a, b), pow(q, 7, r)\n",
                "def f(a, b, xs):\n    q, r = divmod(a, b)\n    return sorted(xs, key=abs), range(a, a), max(a, b), pow(r, q, 7)\n",
                "def f(a, b, xs):\n    q, r = divmod(b, a)\n    return sorted(xs, key=abs), range(a, a), max(a, b), pow(q, r, 7)\n",
            ]
        );
        let m = found
            .iter()
            .find(|m| m.code.contains("divmod(b, a)"))
            .unwrap();
        assert_eq!(m.operator, Operator::SwapArguments);
        assert_eq!(m.lines, vec![2]);
        assert_eq!(&m.code[m.span.0..m.span.1], "b, a");
        assert_eq!(m.description, "swapped `a` and `b`");
    }
}
