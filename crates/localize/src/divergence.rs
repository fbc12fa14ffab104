//! Reference-trace divergence: on each failing test, the line the first divergence from the
//! reference's trace blames (see `tracealign_trace::first_divergence`), and at half weight
//! its data dependencies — lines that ran in that test and assign a name the blamed line
//! reads (a static approximation of reaching definitions, cheap and good enough for
//! functions of a screen or two).
//!
//! Divergence pairs lines of the two programs; where the candidate rewrote a region with a
//! different number of lines, the pairing inside it is a guess. A blame on such a line
//! counts only as much as the programs share lines (the share of the candidate's lines the
//! reference has verbatim), so a program written unlike the reference leans on the other
//! signals instead.
//!
//! A divergence on a line that assigns a literal to names the reference never assigns
//! (`count = 0` where the reference counts in `ans`) is not blamed: the value cannot depend
//! on the input and has no counterpart to differ from; the programs only start to differ
//! observably where it is used.

use std::collections::BTreeSet;

use tracealign_trace::divergence::{first_divergence, Side};

use crate::diff::diff;
use crate::evidence::{LineScores, Run};
use crate::program::Program;

/// Score per line: over failing tests with traces on both sides, the share whose divergence
/// blames the line, plus half the share where it is a data dependency of the blamed line.
pub fn divergence_scores(subject: &Run, reference: &Run) -> LineScores {
    let program = Program::parse(subject.code);
    let tokens = program.tokens();
    let assignments = program.assignments();
    let unmatched_constants = unmatched_constants(&program, &assignments, reference.code);
    let mut blamed = Vec::new();
    for test in subject.failing_tests() {
        let (Some(ours), Some(theirs)) = (subject.trace(test), reference.trace(test)) else {
            continue;
        };
        let candidate = Side {
            source: subject.code,
            trace: ours,
        };
        let reference_side = Side {
            source: reference.code,
            trace: theirs,
        };
        if let Some(divergence) = first_divergence(candidate, reference_side) {
            let line = divergence.candidate.line;
            if unmatched_constants.contains(&line) {
                continue;
            }
            let ran: BTreeSet<u32> = ours.events.iter().map(|e| e.line).collect();
            let reads: BTreeSet<&str> = tokens
                .iter()
                .filter(|t| t.line == line && t.is_identifier)
                .map(|t| t.text.as_str())
                .collect();
            let deps: BTreeSet<u32> = assignments
                .iter()
                .filter(|(l, name)| *l != line && ran.contains(l) && reads.contains(name.as_str()))
                .map(|(l, _)| *l)
                .collect();
            blamed.push((line, deps));
        }
    }
    let shape = diff(subject.code, reference.code);
    let shared = shape.lines_kept as f64 / (shape.lines_kept + shape.changed.len()).max(1) as f64;
    let mut scores = LineScores::new();
    let share = 1.0 / blamed.len().max(1) as f64;
    for (line, deps) in blamed {
        let trust = if shape.rewritten.contains(&line) {
            shared
        } else {
            1.0
        };
        *scores.entry(line).or_default() += share * trust;
        for dep in deps {
            *scores.entry(dep).or_default() += share * trust / 2.0;
        }
    }
    scores
}

/// Lines that assign a literal only to names the reference never assigns.
fn unmatched_constants(
    program: &Program,
    assignments: &[(u32, String)],
    reference: &str,
) -> BTreeSet<u32> {
    let theirs: BTreeSet<String> = Program::parse(reference)
        .assignments()
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    program
        .constant_assignments()
        .into_iter()
        .filter(|line| {
            assignments
                .iter()
                .filter(|(l, _)| l == line)
                .all(|(_, name)| !theirs.contains(name))
        })
        .collect()
}
