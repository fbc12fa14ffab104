//! First divergence between a candidate's trace and the reference's trace on one test.
//!
//! # What "corresponding" means
//! The two programs differ in structure, so events cannot be paired by position or by
//! line number alone. We pair them in two steps:
//!
//! 1. **Lines.** The two sources are aligned line by line (longest common subsequence of
//!    whitespace-normalised lines). Equal lines correspond; inside a changed region, lines
//!    are paired in order (the first changed candidate line with the first changed reference
//!    line, ...), which is what a one-line fix looks like. Blank and comment lines never run.
//! 2. **Events.** Both event streams are walked in lockstep. A candidate event on a line the
//!    reference lacks (an inserted line), or a reference event on a line the candidate lacks
//!    (a deleted line), is stepped over. Two events correspond when they have the same kind,
//!    corresponding lines and the same depth.
//!
//! At corresponding events we compare the observable state: call arguments, values assigned
//! (by variable name; a candidate-only name is accepted if its value is among the values the
//! reference assigned at that point), returned and yielded values. The first event where
//! the kinds or lines do not correspond is a *branch* divergence; the first where a value
//! differs is a *data* divergence.
//!
//! # Which line is blamed
//! The data model reports a line's effects on the *next* event of the same frame, and a
//! branch is decided by the line before the jump. So a data divergence blames the previous
//! event of the frame (the line that assigned the value), and a branch divergence blames the
//! last corresponding event of the frame (the `if`/`for`/`while` that chose differently). An
//! exception where the reference ran on blames the line that raised.
//!
//! # Limits
//! When the candidate implements a different algorithm, few lines correspond and the
//! comparison degrades to calls and returns (still correct, less precise). A truncated
//! trace is compared up to its last recorded event. Values are compared as bounded reprs,
//! so two values that differ only beyond the repr bound are seen as equal.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tracealign_core::{EventKind, Execution, Trace, TraceEvent};

/// The first point where the candidate's observable state departs from the reference's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// The candidate's event blamed for the departure (see the module docs).
    pub candidate: TraceEvent,
    /// The corresponding reference event, when there is one.
    pub reference: Option<TraceEvent>,
    /// Data (a value differs) or branch (control went elsewhere).
    pub kind: DivergenceKind,
    /// What differs, in words.
    pub reason: String,
    /// The variable or value that differs (`total`, `return`, `args`), when one does.
    pub subject: Option<String>,
    /// The candidate's value and the reference's, as bounded reprs.
    pub actual: Option<String>,
    pub expected: Option<String>,
}

/// Whether a value or the path through the program differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DivergenceKind {
    Data,
    Branch,
}

/// One program and its trace on a test.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub source: &'a str,
    pub trace: &'a Trace,
}

/// The first divergence on the first failing test of `execution` that both it and
/// `reference` (a traced run of the reference solution `reference_source`) traced, with the
/// test's name; `None` when no such test diverges.
pub fn first_failing_divergence(
    execution: &Execution,
    reference: &Execution,
    reference_source: &str,
) -> Option<(String, Divergence)> {
    let reference_traces: HashMap<&str, &Trace> = (reference.tests.iter())
        .filter_map(|t| Some((t.name.as_str(), t.trace.as_ref()?)))
        .collect();
    execution
        .tests
        .iter()
        .filter(|t| !t.outcome.is_passed())
        .find_map(|test| {
            let candidate = Side {
                source: &execution.code,
                trace: test.trace.as_ref()?,
            };
            let reference = Side {
                source: reference_source,
                trace: reference_traces.get(test.name.as_str())?,
            };
            Some((test.name.clone(), first_divergence(candidate, reference)?))
        })
}

/// Finds the first divergence; `None` when the traces agree on everything observable.
pub fn first_divergence(candidate: Side<'_>, reference: Side<'_>) -> Option<Divergence> {
    let lines = LineMap::new(candidate.source, reference.source);
    Walk {
        lines: &lines,
        candidate: &candidate.trace.events,
        reference: &reference.trace.events,
    }
    .run()
}

/// Candidate line → reference line.
struct LineMap {
    forward: HashMap<u32, u32>,
    /// Reference lines some candidate line maps to.
    covered: std::collections::HashSet<u32>,
}

impl LineMap {
    fn new(candidate: &str, reference: &str) -> LineMap {
        let normalise = |source: &str| -> Vec<(u32, String)> {
            source
                .lines()
                .enumerate()
                .map(|(i, l)| {
                    (
                        i as u32 + 1,
                        l.split_whitespace().collect::<Vec<_>>().join(" "),
                    )
                })
                .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
                .collect()
        };
        let (a, b) = (normalise(candidate), normalise(reference));
        let anchors = common_subsequence(&a, &b);
        let mut forward = HashMap::new();
        let (mut i, mut j) = (0, 0);
        for &(ai, bj) in anchors.iter().chain(std::iter::once(&(a.len(), b.len()))) {
            // Changed region between anchors: pair lines in order.
            for (x, y) in (i..ai).zip(j..bj) {
                forward.insert(a[x].0, b[y].0);
            }
            if ai < a.len() {
                forward.insert(a[ai].0, b[bj].0);
            }
            (i, j) = (ai + 1, bj + 1);
        }
        let covered = forward.values().copied().collect();
        LineMap { forward, covered }
    }

    fn to_reference(&self, line: u32) -> Option<u32> {
        self.forward.get(&line).copied()
    }
}

/// Index pairs of a longest common subsequence of equal texts.
fn common_subsequence(a: &[(u32, String)], b: &[(u32, String)]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let mut table = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if a[i].1 == b[j].1 {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i].1 == b[j].1 {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if table[i + 1][j] >= table[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

struct Walk<'a> {
    lines: &'a LineMap,
    candidate: &'a [TraceEvent],
    reference: &'a [TraceEvent],
}

impl Walk<'_> {
    fn run(&self) -> Option<Divergence> {
        let (mut i, mut j) = (0, 0);
        // The latest corresponding events per depth: who decided a branch.
        let mut last_pair: HashMap<u32, (usize, usize)> = HashMap::new();
        while i < self.candidate.len() && j < self.reference.len() {
            let (c, r) = (&self.candidate[i], &self.reference[j]);
            if c.kind == EventKind::Line && self.lines.to_reference(c.line).is_none() {
                i += 1; // a line only the candidate has
                continue;
            }
            if r.kind == EventKind::Line && !self.lines.covered.contains(&r.line) {
                j += 1; // a line only the reference has
                continue;
            }
            if !self.correspond(c, r) {
                return Some(self.branch(i, j, last_pair.get(&c.depth).copied()));
            }
            if let Some(divergence) = self.compare_state(i, j, &last_pair) {
                return Some(divergence);
            }
            last_pair.insert(c.depth, (i, j));
            if matches!(c.kind, EventKind::Call) {
                last_pair.remove(&(c.depth + 1));
            }
            i += 1;
            j += 1;
        }
        self.ending(i, j, &last_pair)
    }

    fn correspond(&self, c: &TraceEvent, r: &TraceEvent) -> bool {
        let same_place = match c.kind {
            EventKind::Line | EventKind::Exception => {
                self.lines.to_reference(c.line) == Some(r.line)
            }
            // Calls and returns are matched by function and kind; their lines are the def and
            // return lines, which may legitimately differ.
            _ => true,
        };
        c.kind == r.kind && c.depth == r.depth && same_place
    }

    /// Compares what the two corresponding events observed.
    fn compare_state(
        &self,
        i: usize,
        j: usize,
        last_pair: &HashMap<u32, (usize, usize)>,
    ) -> Option<Divergence> {
        let (c, r) = (&self.candidate[i], &self.reference[j]);
        if c.kind == EventKind::Call && !c.resumed {
            if let Some((name, actual, expected)) = differing_value(&c.args, &r.args) {
                let caller = last_pair
                    .get(&c.depth.wrapping_sub(1))
                    .map(|&(ci, cj)| (ci, Some(cj)));
                let (blame, reference) = caller.unwrap_or((i, Some(j)));
                return Some(self.data(
                    blame,
                    reference,
                    format!("argument `{name}` of {}()", c.func),
                    actual,
                    expected,
                ));
            }
        }
        // Changes arrive on the next event of the frame: blame the line before.
        let blame = last_pair
            .get(&c.depth)
            .copied()
            .filter(|_| c.kind != EventKind::Call);
        if let Some((name, actual, expected)) = differing_value(&c.changed, &r.changed) {
            let (bi, bj) = blame.unwrap_or((i, j));
            return Some(self.data(bi, Some(bj), format!("`{name}`"), actual, expected));
        }
        if matches!(c.kind, EventKind::Return | EventKind::Yield) && c.value != r.value {
            let what = if c.kind == EventKind::Return {
                "return value"
            } else {
                "yielded value"
            };
            return Some(self.data(
                i,
                Some(j),
                format!("{what} of {}()", c.func),
                c.value.clone(),
                r.value.clone(),
            ));
        }
        None
    }

    fn data(
        &self,
        blame: usize,
        reference: Option<usize>,
        subject: String,
        actual: Option<String>,
        expected: Option<String>,
    ) -> Divergence {
        let event = self.candidate[blame].clone();
        let reason = format!(
            "{subject} is {} after line {}; the reference has {}",
            actual.as_deref().unwrap_or("unset"),
            event.line,
            expected.as_deref().unwrap_or("no such value"),
        );
        Divergence {
            candidate: event,
            reference: reference.map(|j| self.reference[j].clone()),
            kind: DivergenceKind::Data,
            reason,
            subject: Some(subject.trim_matches('`').to_string()),
            actual,
            expected,
        }
    }

    /// Control went elsewhere at candidate event `i` / reference event `j`.
    fn branch(&self, i: usize, j: usize, decided_by: Option<(usize, usize)>) -> Divergence {
        let (c, r) = (&self.candidate[i], &self.reference[j]);
        if c.kind == EventKind::Exception {
            return Divergence {
                candidate: c.clone(),
                reference: Some(r.clone()),
                kind: DivergenceKind::Branch,
                reason: format!(
                    "raised {} at line {}; the reference went on to {}",
                    c.exc_type.as_deref().unwrap_or("an exception"),
                    c.line,
                    describe(r)
                ),
                subject: c.exc_type.clone(),
                actual: c.message.clone(),
                expected: None,
            };
        }
        let (blame, reference) = decided_by.map_or((i, Some(j)), |(bi, bj)| (bi, Some(bj)));
        let decider = &self.candidate[blame];
        Divergence {
            candidate: decider.clone(),
            reference: reference.map(|k| self.reference[k].clone()),
            kind: DivergenceKind::Branch,
            reason: format!(
                "after line {} the program went to {}; the reference went to {}",
                decider.line,
                describe(c),
                describe(r)
            ),
            subject: None,
            actual: Some(describe(c)),
            expected: Some(describe(r)),
        }
    }

    /// One trace ended before the other.
    fn ending(
        &self,
        i: usize,
        j: usize,
        last_pair: &HashMap<u32, (usize, usize)>,
    ) -> Option<Divergence> {
        let rest_c = self.candidate[i.min(self.candidate.len())..]
            .iter()
            .find(|e| self.counts(e, true));
        let rest_r = self.reference[j.min(self.reference.len())..]
            .iter()
            .find(|e| self.counts(e, false));
        let (blame, reference) = match (rest_c, rest_r) {
            (None, None) => return None,
            (Some(c), _) => (
                self.candidate
                    .iter()
                    .position(|e| std::ptr::eq(e, c))
                    .unwrap_or(i),
                rest_r,
            ),
            (None, Some(_)) => {
                let depth = rest_r.map_or(0, |r| r.depth);
                (
                    last_pair
                        .get(&depth)
                        .map_or(self.candidate.len().saturating_sub(1), |p| p.0),
                    rest_r,
                )
            }
        };
        let event = self.candidate.get(blame)?.clone();
        let reason = match (rest_c, rest_r) {
            (Some(c), _) => format!(
                "the program went on to {}; the reference had finished",
                describe(c)
            ),
            _ => format!(
                "the program stopped after line {}; the reference went on to {}",
                event.line,
                rest_r.map_or_else(String::new, describe)
            ),
        };
        Some(Divergence {
            candidate: event,
            reference: reference.cloned(),
            kind: DivergenceKind::Branch,
            reason,
            subject: None,
            actual: rest_c.map(describe),
            expected: rest_r.map(describe),
        })
    }

    /// Whether a leftover event is one the other side should have had.
    fn counts(&self, event: &TraceEvent, candidate: bool) -> bool {
        event.kind != EventKind::Line
            || if candidate {
                self.lines.to_reference(event.line).is_some()
            } else {
                self.lines.covered.contains(&event.line)
            }
    }
}

/// The first variable both sides name with different values, or a candidate value the
/// reference did not produce at all.
fn differing_value(
    candidate: &tracealign_core::Vars,
    reference: &tracealign_core::Vars,
) -> Option<(String, Option<String>, Option<String>)> {
    for (name, value) in candidate {
        match reference.get(name) {
            Some(expected) if expected != value => {
                return Some((name.clone(), Some(value.clone()), Some(expected.clone())))
            }
            Some(_) => {}
            // A name the reference does not use here: fine if it holds a value the
            // reference computed (a renamed variable), or if the reference changed nothing.
            None if reference.is_empty() || reference.values().any(|v| v == value) => {}
            None => {
                let expected = (reference.len() == 1)
                    .then(|| reference.values().next().cloned())
                    .flatten();
                if expected.is_some() {
                    return Some((name.clone(), Some(value.clone()), expected));
                }
            }
        }
    }
    None
}

fn describe(event: &TraceEvent) -> String {
    match event.kind {
        EventKind::Line => format!("line {}", event.line),
        EventKind::Call => format!("a call of {}()", event.func),
        EventKind::Return => format!("return from {}()", event.func),
        EventKind::Yield => format!("a yield from {}()", event.func),
        EventKind::Exception => format!(
            "{} at line {}",
            event.exc_type.as_deref().unwrap_or("an exception"),
            event.line
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracealign_core::Vars;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn event(step: u64, kind: EventKind, line: u32, changed: &[(&str, &str)]) -> TraceEvent {
        TraceEvent {
            step,
            kind,
            func: "f".into(),
            line,
            depth: 0,
            args: Vars::new(),
            changed: vars(changed),
            value: None,
            resumed: false,
            exc_type: None,
            message: None,
        }
    }

    /// A trace of `total = 0; for x in xs[:n]: total += x; return total`, with `n` items
    /// summed out of `values`, where the loop header is line `header`.
    fn summing(values: &[i32], n: usize, header: u32) -> Trace {
        let mut events = vec![
            event(0, EventKind::Call, 1, &[]),
            event(1, EventKind::Line, 2, &[]),
        ];
        let mut total = 0;
        events.push(event(2, EventKind::Line, header, &[("total", "0")]));
        for (k, x) in values.iter().take(n).enumerate() {
            let changed_x = x.to_string();
            events.push(event(0, EventKind::Line, header + 1, &[("x", &changed_x)]));
            total += x;
            let changed_total = total.to_string();
            let _ = k;
            events.push(event(
                0,
                EventKind::Line,
                header,
                &[("total", &changed_total)],
            ));
        }
        events.push(event(0, EventKind::Line, header + 2, &[]));
        let mut ret = event(0, EventKind::Return, header + 2, &[]);
        ret.value = Some(total.to_string());
        events.push(ret);
        for (step, e) in events.iter_mut().enumerate() {
            e.step = step as u64;
        }
        Trace {
            events,
            truncated: false,
            events_total: 0,
        }
    }

    const REFERENCE: &str =
        "def f(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total\n";
    const OFF_BY_ONE: &str =
        "def f(xs):\n    total = 0\n    for x in xs[:-1]:\n        total += x\n    return total\n";

    #[test]
    fn identical_traces_do_not_diverge() {
        let trace = summing(&[1, 2, 3], 3, 3);
        let side = Side {
            source: REFERENCE,
            trace: &trace,
        };
        assert_eq!(first_divergence(side, side), None);
    }

    #[test]
    fn a_loop_that_stops_early_blames_the_loop_header() {
        let reference = summing(&[1, 2, 3], 3, 3);
        let candidate = summing(&[1, 2, 3], 2, 3);
        let divergence = first_divergence(
            Side {
                source: OFF_BY_ONE,
                trace: &candidate,
            },
            Side {
                source: REFERENCE,
                trace: &reference,
            },
        )
        .expect("diverges");
        assert_eq!(divergence.kind, DivergenceKind::Branch);
        assert_eq!(divergence.candidate.line, 3, "{}", divergence.reason);
        assert!(
            divergence.reason.contains("went to line 5"),
            "{}",
            divergence.reason
        );
    }

    #[test]
    fn a_wrong_value_blames_the_line_that_assigned_it() {
        let reference = summing(&[1, 2, 3], 3, 3);
        let mut candidate = reference.clone();
        // `total -= x` on line 4: the first update is wrong.
        candidate.events[4].changed = vars(&[("total", "-1")]);
        let source = REFERENCE.replace("total += x", "total -= x");
        let divergence = first_divergence(
            Side {
                source: &source,
                trace: &candidate,
            },
            Side {
                source: REFERENCE,
                trace: &reference,
            },
        )
        .expect("diverges");
        assert_eq!(divergence.kind, DivergenceKind::Data);
        assert_eq!(divergence.candidate.line, 4);
        assert_eq!(
            (divergence.actual.as_deref(), divergence.expected.as_deref()),
            (Some("-1"), Some("1"))
        );
        assert_eq!(divergence.subject.as_deref(), Some("total"));
    }

    #[test]
    fn renamed_variables_and_extra_lines_are_tolerated() {
        let reference = summing(&[1, 2], 2, 3);
        let mut candidate = reference.clone();
        for event in &mut candidate.events {
            if let Some(v) = event.changed.remove("total") {
                event.changed.insert("acc".into(), v);
            }
        }
        let source =
            "def f(xs):\n    acc = 0\n    for x in xs:\n        acc += x\n    return acc\n";
        // Different names, same values: no divergence in the loop; the returns agree.
        let found = first_divergence(
            Side {
                source,
                trace: &candidate,
            },
            Side {
                source: REFERENCE,
                trace: &reference,
            },
        );
        assert_eq!(found, None, "{found:?}");
    }

    #[test]
    fn an_exception_where_the_reference_ran_on_blames_the_raising_line() {
        let reference = summing(&[1, 2], 2, 3);
        let mut candidate = reference.clone();
        let mut raised = event(4, EventKind::Exception, 4, &[]);
        raised.exc_type = Some("IndexError".into());
        candidate.events.truncate(4);
        candidate.events.push(raised);
        let divergence = first_divergence(
            Side {
                source: REFERENCE,
                trace: &candidate,
            },
            Side {
                source: REFERENCE,
                trace: &reference,
            },
        )
        .expect("diverges");
        assert_eq!(divergence.candidate.line, 4);
        assert!(
            divergence.reason.starts_with("raised IndexError at line 4"),
            "{}",
            divergence.reason
        );
    }

    #[test]
    fn line_map_pairs_changed_lines_in_order() {
        let map = LineMap::new(OFF_BY_ONE, REFERENCE);
        assert_eq!(
            (1..=5).map(|l| map.to_reference(l)).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5].map(Some)
        );
        let inserted = "def f(xs):\n    total = 0\n    print(xs)\n    for x in xs:\n        total += x\n    return total\n";
        let map = LineMap::new(inserted, REFERENCE);
        assert_eq!(map.to_reference(3), None);
        assert_eq!(map.to_reference(4), Some(3));
    }
}
