//! Local names of Python functions, for variable-misuse mutations.
//!
//! A misused variable is realistic only when the wrong name is one the function really
//! has at hand, so this module answers two questions: which identifiers are bindings
//! (assignment targets, loop variables …) rather than reads, and which names are local at
//! a given point — the innermost function's parameters and assigned names, plus the
//! variables of the comprehensions and lambdas around the point within that function.

use std::collections::BTreeSet;

use tracealign_core::python::Node;

use crate::syntax::{code_children, is_field, Program};

/// Nodes that group several targets (`a, b = …`, `for (i, x) in …`, `*rest`).
const TARGET_GROUPS: [&str; 8] = [
    "pattern_list",
    "tuple_pattern",
    "list_pattern",
    "list_splat_pattern",
    "tuple",
    "list",
    "parenthesized_expression",
    "as_pattern_target",
];

/// Syntax whose bindings belong to an inner scope, so assignments found in them are not
/// locals of the function being scanned.
const INNER_SCOPES: [&str; 6] = [
    "function_definition",
    "class_definition",
    "lambda",
    "list_comprehension",
    "set_comprehension",
    "dictionary_comprehension",
];

/// Whether the identifier `node` is bound (assigned, iterated into, captured) rather than
/// read at this occurrence.
pub(crate) fn is_binding(node: Node<'_>) -> bool {
    let mut target = node;
    while let Some(parent) = target
        .parent()
        .filter(|p| TARGET_GROUPS.contains(&p.kind()))
    {
        target = parent;
    }
    let Some(holder) = target.parent() else {
        return false;
    };
    let field = match holder.kind() {
        "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => "left",
        "named_expression" => "name",
        "as_pattern" | "except_clause" => "alias",
        "delete_statement" => return true,
        _ => return false,
    };
    is_field(holder, field, target)
}

/// The innermost function definition around `node`.
pub(crate) fn enclosing_function(node: Node<'_>) -> Option<Node<'_>> {
    let mut current = node.parent();
    while let Some(candidate) = current {
        if candidate.kind() == "function_definition" {
            return Some(candidate);
        }
        current = candidate.parent();
    }
    None
}

/// The local names visible at `site` inside `function`.
pub(crate) fn locals_at<'a>(
    program: &Program<'a>,
    function: Node<'_>,
    site: Node<'_>,
) -> BTreeSet<&'a str> {
    let mut names = BTreeSet::new();
    if let Some(parameters) = function.child_by_field_name("parameters") {
        parameter_names(program, parameters, &mut names);
    }
    if let Some(body) = function.child_by_field_name("body") {
        assigned_names(program, body, &mut names);
    }
    enclosing_bindings(program, function, site, &mut names);
    names
}

/// Variables of the comprehensions and lambdas between `site` and `function`.
fn enclosing_bindings<'a>(
    program: &Program<'a>,
    function: Node<'_>,
    site: Node<'_>,
    names: &mut BTreeSet<&'a str>,
) {
    let mut child = site;
    while let Some(node) = child.parent().filter(|&n| n != function) {
        if node.kind() == "lambda" {
            if let Some(parameters) = node.child_by_field_name("parameters") {
                parameter_names(program, parameters, names);
            }
        }
        for clause in visible_clauses(node, child) {
            if let Some(left) = clause.child_by_field_name("left") {
                target_names(program, left, names);
            }
        }
        child = node;
    }
}

/// The `for` clauses of comprehension `node` whose variables `child` can see: all of them
/// from the body, otherwise only the clauses before it — the first clause's iterable is
/// evaluated outside the comprehension, so `[x for x in x]` is not a local slip.
fn visible_clauses<'t>(node: Node<'t>, child: Node<'_>) -> Vec<Node<'t>> {
    let in_body = is_field(node, "body", child);
    code_children(node)
        .into_iter()
        .filter(|clause| clause.kind() == "for_in_clause")
        .filter(|clause| in_body || clause.end_byte() <= child.start_byte())
        .collect()
}

/// Names declared by a parameter list, skipping default values and annotations.
fn parameter_names<'a>(program: &Program<'a>, parameters: Node<'_>, names: &mut BTreeSet<&'a str>) {
    for parameter in code_children(parameters) {
        let declared = match parameter.kind() {
            "default_parameter" | "typed_default_parameter" => {
                parameter.child_by_field_name("name")
            }
            "typed_parameter" => code_children(parameter).into_iter().next(),
            _ => Some(parameter),
        };
        if let Some(declared) = declared {
            pattern_names(program, declared, names);
        }
    }
}

/// Identifiers in a parameter or its `*args` / `**kwargs` splat.
fn pattern_names<'a>(program: &Program<'a>, node: Node<'_>, names: &mut BTreeSet<&'a str>) {
    match node.kind() {
        "identifier" => {
            names.insert(program.text(node));
        }
        "list_splat_pattern" | "dictionary_splat_pattern" => {
            for child in code_children(node) {
                pattern_names(program, child, names);
            }
        }
        _ => {}
    }
}

/// Names bound in `node`'s subtree, not descending into inner scopes.
fn assigned_names<'a>(program: &Program<'a>, node: Node<'_>, names: &mut BTreeSet<&'a str>) {
    if INNER_SCOPES.contains(&node.kind()) || node.kind() == "generator_expression" {
        return;
    }
    let target = match node.kind() {
        "assignment" | "augmented_assignment" | "for_statement" => node.child_by_field_name("left"),
        "named_expression" => node.child_by_field_name("name"),
        "as_pattern" | "except_clause" => node.child_by_field_name("alias"),
        _ => None,
    };
    if let Some(target) = target {
        target_names(program, target, names);
    }
    for child in code_children(node) {
        assigned_names(program, child, names);
    }
}

/// Identifiers a target binds: `x`, `a, b`, `(i, (j, k))`, `*rest`; not the names inside
/// `a[i]` or `obj.attr`, which are reads.
fn target_names<'a>(program: &Program<'a>, target: Node<'_>, names: &mut BTreeSet<&'a str>) {
    if target.kind() == "identifier" {
        names.insert(program.text(target));
    } else if TARGET_GROUPS.contains(&target.kind()) {
        for child in code_children(target) {
            target_names(program, child, names);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{parse_clean, python_parser};

    fn find<'t>(node: Node<'t>, text: &str, program: &Program<'_>, nth: usize) -> Node<'t> {
        let mut all = Vec::new();
        collect(node, text, program, &mut all);
        all[nth]
    }

    fn collect<'t>(node: Node<'t>, text: &str, program: &Program<'_>, out: &mut Vec<Node<'t>>) {
        if node.kind() == "identifier" && program.text(node) == text {
            out.push(node);
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            collect(child, text, program, out);
        }
    }

    const PROGRAM: &str = "\
def f(a, b=1, *args, c: int = 2, **kw):
    x, (y, z) = a
    for i, v in enumerate(args):
        with open(v) as fh:
            pass
    try:
        q = [w for w in kw if w]
    except ValueError as err:
        n = (m := 3)
    def inner(p):
        r = 1
    return sorted(kw, key=lambda t: t + x)
";

    #[test]
    fn locals_cover_parameters_and_every_binding() {
        let tree = parse_clean(&mut python_parser(), PROGRAM).unwrap();
        let program = Program::new(PROGRAM, tree);
        let site = find(program.root(), "x", &program, 1);
        let function = enclosing_function(site).unwrap();
        let names: Vec<&str> = locals_at(&program, function, site).into_iter().collect();
        assert_eq!(
            names,
            [
                "a", "args", "b", "c", "err", "fh", "i", "kw", "m", "n", "q", "t", "v", "x", "y",
                "z"
            ]
        );
    }

    #[test]
    fn comprehension_variables_are_local_only_inside() {
        let tree = parse_clean(&mut python_parser(), PROGRAM).unwrap();
        let program = Program::new(PROGRAM, tree);
        let inside = find(program.root(), "w", &program, 2);
        let function = enclosing_function(inside).unwrap();
        assert!(locals_at(&program, function, inside).contains("w"));
        let outside = find(program.root(), "a", &program, 1);
        assert!(!locals_at(&program, function, outside).contains("w"));
        let iterable = find(program.root(), "kw", &program, 1);
        assert!(!locals_at(&program, function, iterable).contains("w"));
    }

    #[test]
    fn bindings_versus_reads() {
        let tree = parse_clean(&mut python_parser(), PROGRAM).unwrap();
        let program = Program::new(PROGRAM, tree);
        let root = program.root();
        assert!(is_binding(find(root, "x", &program, 0)));
        assert!(is_binding(find(root, "z", &program, 0)));
        assert!(is_binding(find(root, "v", &program, 0)));
        assert!(is_binding(find(root, "fh", &program, 0)));
        assert!(is_binding(find(root, "err", &program, 0)));
        assert!(is_binding(find(root, "m", &program, 0)));
        assert!(!is_binding(find(root, "v", &program, 1)));
        assert!(!is_binding(find(root, "a", &program, 1)));
        assert!(!is_binding(find(root, "x", &program, 1)));
    }
}
