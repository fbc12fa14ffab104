//! End-to-end properties of `mutants` over realistic programs.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use tracealign_core::python;
use tracealign_mutate::{mutants, mutants_with, Mutant, Operator};

const SAMPLE: &str = include_str!("programs/sample.py");
const REALISTIC: [&str; 4] = [
    SAMPLE,
    include_str!("programs/realistic_1.py"),
    include_str!("programs/realistic_2.py"),
    include_str!("programs/realistic_3.py"),
];

fn parses_cleanly(code: &str) -> bool {
    !python::has_syntax_error(&python::parse(code))
}

/// How many leading lines `code` shares with `original`.
fn unchanged_prefix(original: &str, code: &str) -> usize {
    original
        .lines()
        .zip(code.lines())
        .take_while(|(a, b)| a == b)
        .count()
}

#[test]
fn every_mutant_parses_differs_and_locates_its_edit() {
    for program in REALISTIC {
        let found = mutants(program, 11);
        assert!(found.len() > 20, "too few mutants: {}", found.len());
        let mut codes = HashSet::new();
        for m in &found {
            assert_ne!(m.code, program, "{}", m.description);
            assert!(parses_cleanly(&m.code), "{}\n{}", m.description, m.code);
            assert!(codes.insert(m.code.clone()), "duplicate: {}", m.description);
            assert!(m.span.0 <= m.span.1 && m.span.1 <= m.code.len());
            assert!(!m.lines.is_empty());
            let line_count = m.code.lines().count() as u32;
            assert!(m.lines.iter().all(|&l| l >= 1 && l <= line_count), "{m:?}");
            assert!(m.lines.windows(2).all(|w| w[1] > w[0]), "{m:?}");
            if m.span.0 < m.span.1 {
                // A replacement's lines are the consecutive lines its text covers.
                assert!(m.lines.windows(2).all(|w| w[1] == w[0] + 1), "{m:?}");
            }
            // A replacement's first line is the first line that changed; a deletion point
            // is where the lines start to differ (or earlier, when the deleted line is
            // repeated right after itself).
            let unchanged = unchanged_prefix(program, &m.code);
            if m.span.0 < m.span.1 {
                assert_eq!(m.lines[0] as usize, unchanged + 1, "{m:?}");
            } else {
                assert!(
                    m.code[..m.span.0].matches('\n').count() <= unchanged,
                    "{m:?}"
                );
            }
        }
    }
}

#[test]
fn the_edit_is_the_only_difference() {
    for program in REALISTIC {
        for m in mutants(program, 5) {
            let before = &m.code[..m.span.0];
            let after = &m.code[m.span.1..];
            assert!(program.starts_with(before), "{}", m.description);
            assert!(program.ends_with(after), "{}", m.description);
            assert!(before.len() + after.len() <= program.len());
        }
    }
}

/// Byte ranges of `program`: (opaque nodes that must never be edited inside, bodies of
/// functions).
fn protected_and_bodies(program: &str) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
    let tree = python::parse(program);
    let mut opaque = Vec::new();
    let mut bodies = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "string"
            | "concatenated_string"
            | "comment"
            | "decorator"
            | "import_statement"
            | "import_from_statement"
            | "parameters" => opaque.push(node.byte_range()),
            "function_definition" => {
                // Whole lines: deleting a statement removes its indentation and newline.
                let body = node.child_by_field_name("body").unwrap().byte_range();
                let line_start = program[..body.start].rfind('\n').map_or(0, |at| at + 1);
                let line_end = program[body.end..]
                    .find('\n')
                    .map_or(program.len(), |at| body.end + at + 1);
                bodies.push(line_start..line_end)
            }
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    (opaque, bodies)
}

/// The range of the original program that a mutant replaced.
fn original_range(program: &str, m: &Mutant) -> Range<usize> {
    let replaced = program.len() + (m.span.1 - m.span.0) - m.code.len();
    m.span.0..m.span.0 + replaced
}

#[test]
fn strings_docstrings_imports_and_module_code_are_never_mutated() {
    for program in REALISTIC {
        let (opaque, bodies) = protected_and_bodies(program);
        for m in mutants(program, 3) {
            let edit = original_range(program, &m);
            assert!(
                bodies
                    .iter()
                    .any(|b| b.start <= edit.start && edit.end <= b.end),
                "outside any function body: {m:?}"
            );
            for o in &opaque {
                let disjoint = edit.end <= o.start || o.end <= edit.start;
                let encloses = edit.start <= o.start && o.end <= edit.end;
                assert!(
                    disjoint || encloses,
                    "edits inside {:?}: {m:?}",
                    &program[o.clone()]
                );
            }
        }
    }
}

#[test]
fn docstrings_survive_every_mutant() {
    let program = include_str!("programs/realistic_1.py");
    let docstring = "    \"\"\"Detect whether a running balance ever drops below zero.\n\n    >>> below_zero([1, 2, -4, 5])\n    True\n    \"\"\"\n";
    let found = mutants(program, 3);
    assert!(found
        .iter()
        .any(|m| m.operator == Operator::DeleteStatement));
    for m in found {
        assert!(m.code.contains(docstring), "{}", m.description);
        assert!(m.code.starts_with("from typing import List\n"));
        assert!(m
            .code
            .contains("def below_zero(operations: List[int]) -> bool:"));
    }
}

#[test]
fn module_level_only_programs_have_no_mutants() {
    let code = "x = 1 + 2\nif x > 2:\n    print(x)\nf = lambda y: y * 2\n";
    assert!(mutants(code, 0).is_empty());
}

#[test]
fn programs_with_syntax_errors_have_no_mutants() {
    assert!(mutants("def f(x):\n    return (x +\n", 0).is_empty());
}

#[test]
fn same_seed_same_list_other_seed_other_order_same_set() {
    let a = mutants(SAMPLE, 42);
    assert_eq!(a, mutants(SAMPLE, 42));
    let b = mutants(SAMPLE, 43);
    assert_ne!(a, b);
    let set = |list: &[Mutant]| list.iter().map(|m| m.code.clone()).collect::<HashSet<_>>();
    assert_eq!(set(&a), set(&b));
    assert_eq!(a.len(), b.len());
}

#[test]
fn prefixes_mix_operators() {
    let found = mutants(SAMPLE, 9);
    let first: HashSet<Operator> = found[..Operator::ALL.len()]
        .iter()
        .map(|m| m.operator)
        .collect();
    assert_eq!(first.len(), Operator::ALL.len());
}

#[test]
fn restricting_operators_keeps_only_those() {
    let only = [Operator::Boundary, Operator::Boolean];
    let found = mutants_with(SAMPLE, 1, &only);
    assert!(!found.is_empty());
    assert!(found.iter().all(|m| only.contains(&m.operator)));
    let all = mutants(SAMPLE, 1);
    let expected = all.iter().filter(|m| only.contains(&m.operator)).count();
    assert_eq!(found.len(), expected);
    assert_eq!(mutants_with(SAMPLE, 1, &Operator::ALL), all);
}

#[test]
fn fault_on_line_five_is_reported_on_line_five() {
    let code = "def clamp(x, lo, hi):\n    \"\"\"Clamp x.\"\"\"\n    if x > hi:\n        return hi\n    if x < lo:\n        return lo\n    return x\n";
    let found = mutants_with(code, 0, &[Operator::Boundary]);
    let m = found
        .iter()
        .find(|m| m.code.contains("if x <= lo:"))
        .unwrap();
    assert_eq!(m.lines, vec![5]);
    assert_eq!(&m.code[m.span.0..m.span.1], "<=");
    for m in found.iter().filter(|m| m.code.contains("    if x < lo:")) {
        assert_eq!(m.lines, vec![3]);
    }
}

#[test]
fn multi_line_edits_cover_every_line() {
    let code = "def f(a, b):\n    if (a and\n            b):\n        return 1\n    return 0\n";
    let found = mutants_with(code, 0, &[Operator::NegateCondition]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].lines, vec![2, 3]);
    assert_eq!(
        &found[0].code[found[0].span.0..found[0].span.1],
        "not (a and\n            b)"
    );
}

/// How many mutants each operator makes of the sample program; pinned so that changes to
/// the operators show up as a reviewed diff.
#[test]
fn every_operator_applies_to_the_sample_program() {
    let mut counts: BTreeMap<Operator, usize> = BTreeMap::new();
    for m in mutants(SAMPLE, 0) {
        *counts.entry(m.operator).or_default() += 1;
    }
    let counts: Vec<(&str, usize)> = counts.into_iter().map(|(op, n)| (op.name(), n)).collect();
    assert_eq!(
        counts,
        [
            ("arithmetic", 6),
            ("comparison", 4),
            ("boundary", 3),
            ("boolean", 1),
            ("constant", 14),
            ("index", 4),
            ("slice_bounds", 10),
            ("variable_misuse", 40),
            ("wrong_return", 2),
            ("delete_statement", 5),
            ("swap_arguments", 1),
            ("negate_condition", 4),
        ]
    );
}

#[test]
fn mutants_round_trip_through_json() {
    let found = mutants(SAMPLE, 0);
    let json = serde_json::to_string(&found).unwrap();
    let back: Vec<Mutant> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, found);
    assert!(json.contains("\"operator\":\"slice_bounds\""));
}
