//! Synthetic single-fault injection into Python programs.
//!
//! Fault-localization benchmarks need programs with a known fault at a known place. This
//! crate makes them from correct programs: it parses a program with tree-sitter, proposes
//! every single edit that one of the [`Operator`]s would make inside function bodies,
//! keeps the edits whose result still parses, and returns them as [`Mutant`]s — the
//! mutated program plus the lines and byte span of the fault.
//!
//! The pipeline, one module per step: `region` picks the mutable nodes, each module of
//! `operators` proposes edits for one operator family, `apply` turns edits into checked
//! mutants, and `shuffle` orders them reproducibly. `scope` (local names) and `offset`
//! (`x` → `x + 1` arithmetic on source text) serve the operators that need them.

mod apply;
mod edit;
mod mutant;
mod offset;
mod operator;
mod operators;
mod region;
mod scope;
mod shuffle;
mod syntax;

use std::collections::HashSet;

pub use mutant::Mutant;
pub use operator::Operator;

/// Every distinct single-edit mutant of `code` that parses, in an order shuffled by
/// `seed`.
///
/// Only code inside function bodies (any nesting) is mutated — never docstrings or other
/// string literals, comments, decorators, imports, parameter lists or module-level code.
/// Mutants identical to the original or to an earlier mutant are dropped, as are mutants
/// with syntax errors. The same `code` and `seed` give the same list on every machine and
/// build; see [`mutants_with`] for how the order is built. A program that does not parse
/// cleanly itself has no mutants.
pub fn mutants(code: &str, seed: u64) -> Vec<Mutant> {
    mutants_with(code, seed, &Operator::ALL)
}

/// [`mutants`] restricted to `operators`.
///
/// Ordering: mutants are grouped by operator, each group is shuffled with a seeded
/// SplitMix64 generator, the operators are put in a seeded random order, and the groups
/// are dealt round-robin, so that the first N mutants mix operators evenly instead of
/// being dominated by the operators with the most sites. When two operators produce the
/// same program, the mutant is attributed to the operator listed first in
/// [`Operator::ALL`].
pub fn mutants_with(code: &str, seed: u64, operators: &[Operator]) -> Vec<Mutant> {
    let mut parser = syntax::python_parser();
    let Some(tree) = syntax::parse_clean(&mut parser, code) else {
        return Vec::new();
    };
    let program = syntax::Program::new(code, tree);
    let mut seen = HashSet::from([code.to_string()]);
    let found = proposed_edits(&program, operators)
        .into_iter()
        .filter_map(|edit| apply::apply(&mut parser, &program, edit))
        .filter(|mutant| seen.insert(mutant.code.clone()))
        .collect();
    shuffle::interleave(found, seed)
}

/// Every edit the selected operators propose, by operator in [`Operator::ALL`] order and
/// then in source order: the order that decides which duplicate survives.
fn proposed_edits(program: &syntax::Program<'_>, operators: &[Operator]) -> Vec<edit::Edit> {
    let nodes = region::mutable_nodes(program.root());
    Operator::ALL
        .into_iter()
        .filter(|operator| operators.contains(operator))
        .flat_map(|operator| {
            nodes
                .iter()
                .flat_map(move |&node| operators::edits(operator, program, node))
        })
        .collect()
}
