//! Compression of repetition: the middle iterations of a loop, the middle levels of a linear
//! recursion. Produces the ranges of events to hide (see [`super::rows`]).
//!
//! A loop is found from line numbers alone, within one frame's segment: a line that comes
//! again with only higher lines in between is a loop header, each return to it starts an
//! iteration, and an iteration takes every event until the next return, nested calls
//! included. The first and last `keep` iterations stay. A recursion is compressed only when it
//! is a plain chain (each level calls the function once, and nothing else of ours), so that
//! the two hidden ranges, going down and coming back, hold nothing but those levels; a
//! runaway recursion cut by the trace cap has only the first. The focus event (divergence or
//! exception) is never hidden.

use super::frames::{Frames, Segment};
use super::rows::{disjoint, Label, Omission};

/// The ranges to hide in `frames`' trace, sorted and disjoint.
pub(crate) fn compress(frames: &Frames, keep: usize, focus: Option<usize>) -> Vec<Omission> {
    let mut candidates = Vec::new();
    for segment in &frames.segments {
        for run in loop_runs(frames, segment) {
            candidates.extend(middle_iterations(&run, keep, focus));
        }
    }
    candidates.extend(middle_recursion(frames, keep, focus));
    disjoint(candidates)
}

/// Each loop of the segment as the events where its header line came round (at least two).
fn loop_runs(frames: &Frames, segment: &Segment) -> Vec<Vec<usize>> {
    // Open headers, lowest line at the bottom: a lower line closes every loop above it.
    let mut open: Vec<(u32, Vec<usize>)> = Vec::new();
    let mut runs = Vec::new();
    for &event in &segment.lines {
        let line = frames.events[event].line;
        while open.last().is_some_and(|(header, _)| *header > line) {
            runs.extend(open.pop().map(|(_, run)| run));
        }
        match open.last_mut() {
            Some((header, run)) if *header == line => run.push(event),
            _ => open.push((line, vec![event])),
        }
    }
    runs.extend(open.into_iter().map(|(_, run)| run));
    runs.retain(|run| run.len() >= 2);
    runs
}

/// Hides iterations `keep..n-keep` of a loop whose header came round at `run`'s events,
/// except the one holding the focus.
fn middle_iterations(run: &[usize], keep: usize, focus: Option<usize>) -> Vec<Omission> {
    let iterations = run.len() - 1;
    if iterations <= 2 * keep {
        return Vec::new();
    }
    let hidden = keep..iterations - keep;
    let focused = focus.and_then(|f| hidden.clone().find(|&i| run[i] <= f && f < run[i + 1]));
    let pieces = match focused {
        Some(i) => vec![hidden.start..i, i + 1..hidden.end],
        None => vec![hidden],
    };
    pieces
        .into_iter()
        .filter(|piece| !piece.is_empty())
        .map(|piece| Omission {
            start: run[piece.start],
            end: run[piece.end],
            label: Label::Iterations(piece.len()),
        })
        .collect()
}

/// Hides the middle levels of each chain of linear recursion longer than `2 * keep`.
fn middle_recursion(frames: &Frames, keep: usize, focus: Option<usize>) -> Vec<Omission> {
    let mut hidden = Vec::new();
    for start in (0..frames.frames.len()).filter(|&f| starts_chain(frames, f)) {
        let chain = chain_from(frames, start);
        if chain.len() <= 2 * keep {
            continue;
        }
        let (top, bottom) = (chain[keep], chain[chain.len() - keep]);
        let levels = chain.len() - 2 * keep;
        let down = Omission {
            start: frames.frames[top].call,
            end: frames.frames[bottom].call,
            label: Label::RecursiveCalls(levels),
        };
        // A truncated trace (runaway recursion, typically) may stop before the way back up.
        let up = match (frames.frames[bottom].end, frames.frames[top].end) {
            (Some(bottom_end), Some(top_end)) => Some(Omission {
                start: bottom_end + 1,
                end: top_end + 1,
                label: Label::Returns(levels),
            }),
            _ => None,
        };
        let holds_focus = |o: &Omission| focus.is_some_and(|f| (o.start..o.end).contains(&f));
        if !holds_focus(&down) && !up.as_ref().is_some_and(holds_focus) {
            hidden.push(down);
            hidden.extend(up);
        }
    }
    hidden
}

/// The frame's one recursive call, when it makes exactly one call of ours and that call is
/// to the same function (generators excluded: their frames interleave with the caller's).
fn link(frames: &Frames, frame: usize) -> Option<usize> {
    match frames.frames[frame].children[..] {
        [child]
            if frames.func(child) == frames.func(frame)
                && !frames.frames[frame].generator
                && !frames.frames[child].generator =>
        {
            Some(child)
        }
        _ => None,
    }
}

fn starts_chain(frames: &Frames, frame: usize) -> bool {
    let parent = frames.frames[frame].parent;
    link(frames, frame).is_some() && parent.and_then(|p| link(frames, p)) != Some(frame)
}

fn chain_from(frames: &Frames, start: usize) -> Vec<usize> {
    std::iter::successors(Some(start), |&frame| link(frames, frame)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::frames::tests::{ev, numbered};
    use tracealign_core::{EventKind::*, TraceEvent};

    /// `f` running a loop `for` at line 2 with body line 3, `n` times.
    fn counting_loop(n: usize) -> Vec<TraceEvent> {
        let mut events = vec![ev(Call, "f", 1, 0)];
        for _ in 0..n {
            events.push(ev(Line, "f", 2, 0));
            events.push(ev(Line, "f", 3, 0));
        }
        events.push(ev(Line, "f", 2, 0));
        events.push(ev(Line, "f", 4, 0));
        events.push(ev(Return, "f", 4, 0));
        numbered(events)
    }

    #[test]
    fn a_loop_keeps_its_first_and_last_iterations() {
        let events = counting_loop(10);
        let frames = Frames::new(&events);
        let hidden = compress(&frames, 2, None);
        // Iterations 3..=8 of 10: from the third header (event 5) to the ninth (event 17).
        assert_eq!(
            hidden,
            [Omission {
                start: 5,
                end: 17,
                label: Label::Iterations(6)
            }]
        );
        assert_eq!(compress(&frames, 5, None), []);
        assert_eq!(compress(&frames, 4, None)[0].label, Label::Iterations(2));
    }

    #[test]
    fn the_focus_iteration_is_kept() {
        let events = counting_loop(10);
        let frames = Frames::new(&events);
        // Event 10 is line 3 of the fifth iteration (events 9 and 10).
        let hidden = compress(&frames, 1, Some(10));
        assert_eq!(
            hidden,
            [
                Omission {
                    start: 3,
                    end: 9,
                    label: Label::Iterations(3)
                },
                Omission {
                    start: 11,
                    end: 19,
                    label: Label::Iterations(4)
                },
            ]
        );
    }

    #[test]
    fn nested_loops_compress_inside_kept_outer_iterations() {
        // for a (line 2): for b (line 3): body (line 4); 5 × 5.
        let mut events = vec![ev(Call, "f", 1, 0)];
        for _ in 0..5 {
            events.push(ev(Line, "f", 2, 0));
            for _ in 0..5 {
                events.push(ev(Line, "f", 3, 0));
                events.push(ev(Line, "f", 4, 0));
            }
            events.push(ev(Line, "f", 3, 0));
        }
        events.push(ev(Line, "f", 2, 0));
        events.push(ev(Return, "f", 2, 0));
        let events = numbered(events);
        let frames = Frames::new(&events);
        let hidden = compress(&frames, 1, None);
        let labels: Vec<Label> = hidden.iter().map(|o| o.label).collect();
        // Inner loop of outer iteration 1, the outer middle (3 iterations), inner of iteration 5.
        assert_eq!(
            labels,
            [
                Label::Iterations(3),
                Label::Iterations(3),
                Label::Iterations(3)
            ]
        );
        assert!(hidden.windows(2).all(|w| w[0].end <= w[1].start));
    }

    /// `fact(n)` down to 0: call, line 2, line 4 (recursing), and back.
    fn factorial(n: u32) -> Vec<TraceEvent> {
        let mut events = Vec::new();
        for depth in 0..=n {
            events.push(ev(Call, "fact", 1, depth));
            events.push(ev(Line, "fact", 2, depth));
            events.push(ev(Line, "fact", if depth == n { 3 } else { 4 }, depth));
        }
        for depth in (0..=n).rev() {
            events.push(ev(Return, "fact", 4, depth));
        }
        numbered(events)
    }

    #[test]
    fn a_linear_recursion_keeps_its_outer_and_inner_levels() {
        let events = factorial(6);
        let frames = Frames::new(&events);
        let hidden = compress(&frames, 2, None);
        assert_eq!(
            hidden,
            [
                Omission {
                    start: 6,
                    end: 15,
                    label: Label::RecursiveCalls(3)
                },
                Omission {
                    start: 23,
                    end: 26,
                    label: Label::Returns(3)
                },
            ]
        );
        assert_eq!(compress(&frames, 2, Some(10)), []);
    }

    #[test]
    fn a_branching_recursion_is_left_alone() {
        // fib-like: every level calls twice.
        let mut events = vec![ev(Call, "fib", 1, 0)];
        for _ in 0..2 {
            events.push(ev(Line, "fib", 2, 0));
            for depth in 1..=5 {
                events.push(ev(Call, "fib", 1, depth));
            }
            for depth in (1..=5).rev() {
                events.push(ev(Return, "fib", 3, depth));
            }
        }
        events.push(ev(Return, "fib", 3, 0));
        let events = numbered(events);
        let frames = Frames::new(&events);
        let hidden = compress(&frames, 1, None);
        // The two inner chains (depths 1-5) are linear; the root, calling twice, is not.
        assert!(hidden.iter().all(|o| o.start > 0));
        assert_eq!(hidden.len(), 4);
    }
}
