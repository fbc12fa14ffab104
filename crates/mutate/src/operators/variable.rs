//! Variable misuse: a read of one local replaced by another local of the same function
//! (`total += x` → `total += i`), the most common "wrong name" slip in generated code.

use tracealign_core::python::Node;

use crate::edit::Edit;
use crate::scope::{enclosing_function, is_binding, locals_at};
use crate::syntax::{is_field, Program};
use crate::Operator;

/// Alternatives offered per read: more would let one busy expression dominate the set.
const ALTERNATIVES: usize = 2;

/// Receivers: swapping `self` for a local is never a plausible slip.
const RECEIVERS: [&str; 2] = ["self", "cls"];

pub(crate) fn edits(program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    let name = program.text(node);
    if node.kind() != "identifier" || RECEIVERS.contains(&name) || !is_read(node) {
        return Vec::new();
    }
    let Some(function) = enclosing_function(node) else {
        return Vec::new();
    };
    let locals = locals_at(program, function, node);
    if !locals.contains(name) {
        return Vec::new();
    }
    let candidates = locals
        .into_iter()
        .filter(|other| *other != name && !RECEIVERS.contains(other));
    nearest(program, function, node, candidates)
        .into_iter()
        .map(|other| Edit::replace(Operator::VariableMisuse, node.byte_range(), name, other))
        .collect()
}

/// Whether the identifier `node` is a variable read: not a binding, and not one of the
/// identifiers that name something other than a variable (a called function, an
/// attribute, a keyword argument).
fn is_read(node: Node<'_>) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    let names_something_else = match parent.kind() {
        "call" => is_field(parent, "function", node),
        "attribute" => is_field(parent, "attribute", node),
        "keyword_argument" => is_field(parent, "name", node),
        _ => false,
    };
    !names_something_else && !is_binding(node)
}

/// The candidates used closest to `site` in the function's text: a programmer (or model)
/// confuses a name with one it has just seen far more often than with a distant one.
/// Ties go to the alphabetically first name, for determinism.
fn nearest<'a>(
    program: &Program<'a>,
    function: Node<'_>,
    site: Node<'_>,
    candidates: impl Iterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut occurrences = Vec::new();
    identifiers(program, function, &mut occurrences);
    let distance = |name: &str| {
        occurrences
            .iter()
            .filter(|(other, _)| *other == name)
            .map(|(_, at)| at.abs_diff(site.start_byte()))
            .min()
    };
    let mut ranked: Vec<(usize, &'a str)> = candidates
        .filter_map(|name| distance(name).map(|d| (d, name)))
        .collect();
    ranked.sort();
    ranked
        .into_iter()
        .take(ALTERNATIVES)
        .map(|(_, name)| name)
        .collect()
}

/// Every identifier under `node`, with its start byte.
fn identifiers<'a>(program: &Program<'a>, node: Node<'_>, found: &mut Vec<(&'a str, usize)>) {
    if node.kind() == "identifier" {
        found.push((program.text(node), node.start_byte()));
    }
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        identifiers(program, child, found);
    }
}

#[cfg(test)]
mod tests {
    use crate::{mutants_with, Operator};

    const PROGRAM: &str = "\
class Acc:
    def total(self, xs, start):
        s = start
        for x in xs:
            s += x
        return s
";

    #[test]
    fn reads_swap_with_nearby_locals() {
        let found = mutants_with(PROGRAM, 0, &[Operator::VariableMisuse]);
        let m = found
            .iter()
            .find(|m| m.code.contains("s += s\n"))
            .expect("`x` → `s` in `s += x`");
        assert_eq!(
            m.code,
            "class Acc:\n    def total(self, xs, start):\n        s = start\n        for x in xs:\n            s += s\n        return s\n"
        );
        assert_eq!(m.operator, Operator::VariableMisuse);
        assert_eq!(m.lines, vec![5]);
        assert_eq!(&m.code[m.span.0..m.span.1], "s");
        assert_eq!(m.description, "`x` → `s`");
        for m in &found {
            assert_eq!(
                m.code.lines().nth(1),
                Some("    def total(self, xs, start):")
            );
        }
    }

    #[test]
    fn every_read_gets_at_most_two_alternatives() {
        let found = mutants_with(PROGRAM, 0, &[Operator::VariableMisuse]);
        // Reads: `start` (line 3), `xs` (line 4), `x` (line 5), `s` (line 6); targets
        // `s`, `x` and the augmented `s` are bindings.
        assert_eq!(found.len(), 8);
        for line in 3..=6 {
            assert_eq!(found.iter().filter(|m| m.lines == vec![line]).count(), 2);
        }
    }

    #[test]
    fn names_that_are_not_variables_are_kept() {
        let code = "def f(a, b):\n    return g(a=b).a\n";
        let found = mutants_with(code, 0, &[Operator::VariableMisuse]);
        let codes: Vec<&str> = found.iter().map(|m| m.code.as_str()).collect();
        assert_eq!(codes, ["def f(a, b):\n    return g(a=a).a\n"]);
    }
}
