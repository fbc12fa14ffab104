//! Deleted statements: a forgotten update (`total += x`), call (`seen.add(x)`) or
//! `break`. Returns are left to the wrong-return operator; docstrings are documentation.

use std::ops::Range;

use tracealign_core::python::Node;

use crate::edit::{shorten, Edit};
use crate::syntax::{code_children, is_string, Program};
use crate::Operator;

/// Statements whose absence is a plausible omission.
const DELETABLE: [&str; 3] = [
    "expression_statement",
    "break_statement",
    "continue_statement",
];

pub(crate) fn edits(program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    if !DELETABLE.contains(&node.kind()) || is_bare_string(node) {
        return Vec::new();
    }
    let Some(block) = node.parent().filter(|parent| parent.kind() == "block") else {
        return Vec::new();
    };
    let description = format!("deleted `{}`", shorten(program.text(node)));
    let statements = code_children(block);
    if statements.len() == 1 {
        // An empty block is a syntax error; `pass` keeps the structure and marks the spot.
        let edit = Edit::described(
            Operator::DeleteStatement,
            node.byte_range(),
            "pass",
            description,
        );
        return vec![edit];
    }
    let (Some(lines), Some(anchor)) = (
        whole_lines(program.source(), node.byte_range()),
        neighbour(&statements, node),
    ) else {
        return Vec::new();
    };
    let mut edit =
        Edit::described(Operator::DeleteStatement, lines, "", description).with_anchor(anchor);
    // A fix inserts the statement back between two lines; the one before the gap is blamed
    // too, as a diff-based ground truth blames the line before an insertion.
    if let Some(before) = predecessor(&statements, node) {
        edit = edit.with_anchor(before);
    }
    vec![edit]
}

/// A string on its own is a docstring or a comment-like literal, not code.
fn is_bare_string(statement: Node<'_>) -> bool {
    let children = code_children(statement);
    children.len() == 1 && is_string(children[0])
}

/// The full lines holding `range`, newline included, when nothing but whitespace and a
/// trailing comment shares them. Statements sharing a line (`a = 1; b = 2`) are not
/// deleted: removing one cleanly would mean re-punctuating the line.
fn whole_lines(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let start = text[..range.start].rfind('\n').map_or(0, |at| at + 1);
    if !text[start..range.start].trim().is_empty() {
        return None;
    }
    let end = text[range.end..]
        .find('\n')
        .map_or(text.len(), |at| range.end + at + 1);
    let rest = text[range.end..end].trim();
    (rest.is_empty() || rest.starts_with('#')).then_some(start..end)
}

/// Where the fault shows once the statement is gone: the statement that would have run
/// right after it — the next one in its block, else the one after the enclosing compound
/// statement, and so on up to the function body — or, when the function has nothing after
/// it, the previous statement of its block. Never a line outside the function (the next
/// `def`, or past the end of the file), which a localizer could not relate to the fault.
fn neighbour(statements: &[Node<'_>], node: Node<'_>) -> Option<usize> {
    let previous = || {
        let at = statements.iter().position(|&s| s == node)?;
        statements.get(at.checked_sub(1)?).copied()
    };
    follower(node).or_else(previous).map(|n| n.start_byte())
}

/// A byte on the code line before the deleted statement: the last line of the previous
/// statement of its block (not a docstring), else the header of the compound statement or
/// function holding the block.
fn predecessor(statements: &[Node<'_>], node: Node<'_>) -> Option<usize> {
    let at = statements.iter().position(|&s| s == node)?;
    let previous = statements[..at].iter().rev().find(|s| !is_bare_string(**s));
    match previous {
        Some(statement) => Some(statement.end_byte() - 1),
        None => Some(node.parent()?.parent()?.start_byte()),
    }
}

/// The next statement in execution order within the function, if any.
fn follower(statement: Node<'_>) -> Option<Node<'_>> {
    let mut current = statement;
    loop {
        if let Some(next) = next_statement(current) {
            return Some(next);
        }
        current = enclosing_statement(current)?;
    }
}

fn next_statement(node: Node<'_>) -> Option<Node<'_>> {
    let mut sibling = node.next_named_sibling();
    while let Some(candidate) = sibling.filter(|s| s.kind() == "comment") {
        sibling = candidate.next_named_sibling();
    }
    sibling
}

/// The compound statement (`for`, `if` …) whose block holds `statement`; `None` at the
/// function's own body.
fn enclosing_statement(statement: Node<'_>) -> Option<Node<'_>> {
    let mut current = statement.parent()?;
    loop {
        let parent = current.parent()?;
        match parent.kind() {
            "function_definition" | "class_definition" | "module" => return None,
            "block" => return Some(current),
            _ => current = parent,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{mutants_with, Mutant, Operator};

    const PROGRAM: &str = "\
def total(xs):
    \"\"\"Sum of the positive items.\"\"\"
    s = 0
    for x in xs:
        if x < 0:
            continue
        s += x  # accumulate
    print(s); print(xs)
    return s
";

    fn find<'m>(found: &'m [Mutant], description: &str) -> &'m Mutant {
        found
            .iter()
            .find(|m| m.description == description)
            .expect(description)
    }

    #[test]
    fn deletes_whole_lines_and_points_at_the_next_statement() {
        let found = mutants_with(PROGRAM, 0, &[Operator::DeleteStatement]);
        let m = find(&found, "deleted `s += x`");
        assert_eq!(
            m.code,
            "def total(xs):\n    \"\"\"Sum of the positive items.\"\"\"\n    s = 0\n    for x in xs:\n        if x < 0:\n            continue\n    print(s); print(xs)\n    return s\n"
        );
        assert_eq!(m.operator, Operator::DeleteStatement);
        assert_eq!(m.span.0, m.span.1);
        // The loop body ends with the deleted line: `print` runs next.
        assert_eq!(m.lines, vec![6, 7]);
        assert!(m.code[m.span.0..].starts_with("    print(s)"));
        let first = find(&found, "deleted `s = 0`");
        // After the docstring: the gap is between the `def` header and the loop.
        assert_eq!(first.lines, vec![1, 3]);
        assert!(first.code[first.span.0..].starts_with("    for x in xs:"));
    }

    #[test]
    fn last_statement_of_a_function_points_at_the_previous_one() {
        let code = "def f(xs):\n    out = []\n    for x in xs:\n        y = x * 2\n        out.append(y)\n\n\ndef g():\n    pass\n";
        let found = mutants_with(code, 0, &[Operator::DeleteStatement]);
        let m = find(&found, "deleted `out.append(y)`");
        assert_eq!(m.lines, vec![4]);
        assert_eq!(
            m.code,
            "def f(xs):\n    out = []\n    for x in xs:\n        y = x * 2\n\n\ndef g():\n    pass\n"
        );
    }

    #[test]
    fn a_lone_statement_becomes_pass() {
        let found = mutants_with(PROGRAM, 0, &[Operator::DeleteStatement]);
        let m = find(&found, "deleted `continue`");
        assert!(m.code.contains("        if x < 0:\n            pass\n"));
        assert_eq!(m.lines, vec![6]);
        assert_eq!(&m.code[m.span.0..m.span.1], "pass");
    }

    #[test]
    fn docstrings_returns_and_shared_lines_stay() {
        let found = mutants_with(PROGRAM, 0, &[Operator::DeleteStatement]);
        let mut descriptions: Vec<&str> = found.iter().map(|m| m.description.as_str()).collect();
        descriptions.sort();
        assert_eq!(
            descriptions,
            ["deleted `continue`", "deleted `s += x`", "deleted `s = 0`"]
        );
    }
}
