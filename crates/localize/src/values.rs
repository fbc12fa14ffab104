//! Novel values: on a failing test, a line that computes a value the reference solution
//! never computed anywhere on the same test is suspicious, and the first such line most of
//! all. Unlike the first divergence this needs no correspondence between the two programs'
//! lines, so it holds up when the candidate is structured differently from the reference
//! (real model programs); values are compared as the tracer's bounded reprs.
//!
//! A value is attributed to the line that produced it: the tracer reports a line's
//! assignments on the next event of the same frame, and a return value on the `return`
//! event of the returning line. Lines that assign a literal (`vowels = ['a', 'e']`) are
//! left out: their value is a representation the program chose, not something it computed
//! from the input, and it is novel whenever the reference chose another (a set, a string).
//! A novel value returned as a literal (`return False` in an `else`) is blamed on the
//! condition that chose that branch: the return computed nothing.

use std::collections::{HashMap, HashSet};

use tracealign_core::{EventKind, Trace};

use crate::evidence::{LineScores, Run};
use crate::program::Program;

/// Score per line: over failing tests with traces on both sides, 1 for the first line that
/// produced a novel value and 1/2 for every later one, averaged over those tests.
pub fn novel_value_scores(subject: &Run, reference: &Run) -> LineScores {
    let program = Program::parse(subject.code);
    let constants = program.constant_assignments();
    let deciders = program.literal_return_deciders();
    let mut per_test = Vec::new();
    for test in subject.failing_tests() {
        if let (Some(ours), Some(theirs)) = (subject.trace(test), reference.trace(test)) {
            let mut lines: Vec<u32> = Vec::new();
            for line in novel_lines(ours, &known_values(theirs)) {
                let line = deciders.get(&line).copied().unwrap_or(line);
                if !constants.contains(&line) && !lines.contains(&line) {
                    lines.push(line);
                }
            }
            per_test.push(lines);
        }
    }
    let share = 1.0 / per_test.len().max(1) as f64;
    let mut scores = LineScores::new();
    for lines in per_test {
        for (k, line) in lines.into_iter().enumerate() {
            let weight = if k == 0 { 1.0 } else { 0.5 };
            *scores.entry(line).or_default() += share * weight;
        }
    }
    scores
}

/// Every value a trace shows: arguments, assignments, returned and yielded values.
fn known_values(trace: &Trace) -> HashSet<&str> {
    let mut values = HashSet::new();
    for event in &trace.events {
        values.extend(event.args.values().map(String::as_str));
        values.extend(event.changed.values().map(String::as_str));
        values.extend(event.value.as_deref());
    }
    values
}

/// Lines that produced a value not in `known`, in the order they first did.
fn novel_lines(trace: &Trace, known: &HashSet<&str>) -> Vec<u32> {
    // Per depth, the line event that ran last in the frame at that depth.
    let mut last_line: HashMap<u32, u32> = HashMap::new();
    let mut found: Vec<u32> = Vec::new();
    let mut flag = |line: u32| {
        if !found.contains(&line) {
            found.push(line);
        }
    };
    for event in &trace.events {
        if event.kind == EventKind::Call {
            last_line.remove(&event.depth);
            continue;
        }
        if let Some(&producer) = last_line.get(&event.depth) {
            if event.changed.values().any(|v| !known.contains(v.as_str())) {
                flag(producer);
            }
        }
        let returned = matches!(event.kind, EventKind::Return | EventKind::Yield);
        if returned && event.value.as_deref().is_some_and(|v| !known.contains(v)) {
            flag(event.line);
        }
        if event.kind == EventKind::Line {
            last_line.insert(event.depth, event.line);
        }
    }
    found
}
