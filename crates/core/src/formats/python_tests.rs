//! Reading tests out of Python source: HumanEval's `check(candidate)` split into one test
//! per top-level `assert`, and MBPP's entry point found from its asserts. Parsed with
//! tree-sitter ([`crate::python`]), so strings, comments and multi-line statements are
//! handled as Python does.

use crate::python::{self, definition_name, function_definition, named_children, parse, Node};

/// Splits a HumanEval `test` program into `(name, code)` tests.
///
/// Each top-level `assert` in `check`'s body becomes a test holding the module-level code
/// around `check` (imports, helpers, `METADATA`), every non-assert statement that precedes
/// it in the body (setup, loops), and the assert itself, dedented. Statements after the last
/// top-level assert that contain asserts of their own (a loop of random checks, say) form one
/// more test, `check_rest`. `check`'s parameter is bound to `candidate` when named otherwise.
pub fn split_check(source: &str) -> Result<Vec<(String, String)>, String> {
    let tree = parse(source);
    let root = tree.root_node();
    let mut prelude = String::new();
    let mut check = None;
    for node in named_children(root) {
        let definition = function_definition(node);
        match definition {
            Some(def) if definition_name(def, source) == Some("check") => check = Some(def),
            _ if is_call_of_check(node, source) || is_unused_metadata(node, source) => {}
            _ => {
                prelude.push_str(python::text(node, source));
                prelude.push('\n');
            }
        }
    }
    let check = check.ok_or("no `def check(candidate):` function found")?;
    if let Some(parameter) = first_parameter(check, source) {
        if parameter != "candidate" {
            prelude.push_str(&format!("{parameter} = candidate\n"));
        }
    }
    let body = check
        .child_by_field_name("body")
        .ok_or("`check` has no body")?;
    let mut tests = Vec::new();
    let mut setup = String::new();
    let mut rest_has_asserts = false;
    for statement in named_children(body) {
        let code = dedent(statement, source);
        if statement.kind() == "assert_statement" {
            tests.push((
                format!("assert_{}", tests.len() + 1),
                format!("{prelude}{setup}{code}\n"),
            ));
            rest_has_asserts = false;
        } else if statement.kind() != "comment" {
            setup.push_str(&code);
            setup.push('\n');
            rest_has_asserts |= contains_assert(statement);
        }
    }
    if rest_has_asserts || tests.is_empty() {
        tests.push(("check_rest".to_string(), format!("{prelude}{setup}")));
    }
    Ok(tests)
}

/// The MBPP entry point: the first function defined at the top level of `code` that the
/// asserts call.
pub fn split_mbpp_entry_point(code: &str, asserts: &[String]) -> Option<String> {
    let tree = parse(code);
    let defined: Vec<&str> = python::top_level_functions(tree.root_node())
        .filter_map(|def| definition_name(def, code))
        .collect();
    asserts.iter().find_map(|assert| {
        defined
            .iter()
            .filter_map(|name| called_at(assert, name).map(|at| (at, *name)))
            .min()
            .map(|(_, name)| name.to_string())
    })
}

/// Byte offset of the first call `name(` in `text` where `name` is a whole identifier.
fn called_at(text: &str, name: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].trim_start().chars().next();
        !before.is_some_and(|c| is_ident(c) || c == '.') && after == Some('(')
    })
}

fn first_parameter<'s>(def: Node<'_>, source: &'s str) -> Option<&'s str> {
    let parameters = def.child_by_field_name("parameters")?;
    let first = named_children(parameters).next()?;
    let name = if first.kind() == "identifier" {
        first
    } else {
        first.named_child(0)?
    };
    Some(python::text(name, source))
}

fn is_call_of_check(node: Node<'_>, source: &str) -> bool {
    node.kind() == "expression_statement"
        && python::text(node, source)
            .trim_start()
            .starts_with("check(")
}

/// HumanEval's `METADATA = {...}` bookkeeping, when nothing else in the source names it:
/// kept, it would stand at the head of every test, in every rendered trace and failing test.
fn is_unused_metadata(node: Node<'_>, source: &str) -> bool {
    let text = python::text(node, source);
    let assigned = text.strip_prefix("METADATA").is_some_and(|rest| {
        rest.trim_start().starts_with('=') && !rest.trim_start().starts_with("==")
    });
    node.kind() == "expression_statement" && assigned && source.matches("METADATA").count() == 1
}

fn contains_assert(node: Node<'_>) -> bool {
    node.kind() == "assert_statement" || named_children(node).any(contains_assert)
}

/// The statement's source with its indentation removed from every line.
fn dedent(node: Node<'_>, source: &str) -> String {
    let indent = node.start_position().column;
    let mut lines = python::text(node, source).split('\n');
    let mut out = lines.next().unwrap_or_default().to_string();
    for line in lines {
        out.push('\n');
        let strip = line.len() - line.trim_start_matches([' ', '\t']).len();
        out.push_str(&line[strip.min(indent)..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECK: &str = r#"

METADATA = {'author': 'x'}
import math

def check(candidate):
    # a comment
    assert candidate([1, 2]) == 3
    data = [3,
            4]
    assert candidate(data) == 7, "sum"
    for x in range(3):
        assert candidate([x]) == x

check(solution)
"#;

    #[test]
    fn each_top_level_assert_becomes_a_test_with_the_setup_before_it() {
        let tests = split_check(CHECK).unwrap();
        let names: Vec<_> = tests.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["assert_1", "assert_2", "check_rest"]);
        assert_eq!(tests[0].1, "import math\nassert candidate([1, 2]) == 3\n");
        assert!(tests[1]
            .1
            .ends_with("data = [3,\n        4]\nassert candidate(data) == 7, \"sum\"\n"));
        assert!(tests[2]
            .1
            .contains("for x in range(3):\n    assert candidate([x]) == x\n"));
        assert!(!tests
            .iter()
            .any(|(_, code)| code.contains("check(solution)")));
    }

    /// `METADATA` stays when a test reads it.
    #[test]
    fn metadata_that_a_test_reads_is_kept() {
        let source = "METADATA = {'n': 2}\ndef check(candidate):\n    assert candidate(1) == METADATA['n']\n";
        let tests = split_check(source).unwrap();
        assert!(
            tests[0].1.starts_with("METADATA = {'n': 2}\n"),
            "{}",
            tests[0].1
        );
    }

    #[test]
    fn a_parameter_not_named_candidate_is_aliased() {
        let tests = split_check("def check(f):\n    assert f(1) == 2\n").unwrap();
        assert_eq!(tests[0].1, "f = candidate\nassert f(1) == 2\n");
    }

    #[test]
    fn missing_check_is_an_error() {
        assert!(split_check("assert True\n").is_err());
    }

    #[test]
    fn mbpp_entry_point_is_the_called_definition() {
        let code = "def helper(x):\n    return x\ndef solve(a):\n    return helper(a)\n";
        let asserts = vec!["assert solve(3) == 3".to_string()];
        assert_eq!(
            split_mbpp_entry_point(code, &asserts).as_deref(),
            Some("solve")
        );
        let asserts = vec!["assert math.isclose(helper(2), 2)".to_string()];
        assert_eq!(
            split_mbpp_entry_point(code, &asserts).as_deref(),
            Some("helper")
        );
    }
}
