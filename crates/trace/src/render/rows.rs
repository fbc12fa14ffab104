//! Rows of an event-based rendering (`lines`, `blocks`) and the ranges of events hidden
//! from it (compressed loops and recursion, events outside the budget's window).
//!
//! Every row belongs to one event: hiding that event hides the row, wherever the row is
//! printed. A variable change is printed where the trace reports it (the next event of its
//! frame) but belongs to the line that made it, so it disappears together with that line.
//! A run of hidden rows becomes one marker line saying what was left out.

use super::budget::{BodyLine, Detail, Layout};
use super::frames::Frames;
use super::loops::compress;
use super::Focus;

/// One line of output, before hidden events are taken out.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The event this row belongs to: hiding the event hides the row.
    pub(crate) event: usize,
    /// Leading spaces.
    pub(crate) indent: usize,
    pub(crate) text: String,
    /// Events this row is the first to show (0 for rows that add detail to a shown event).
    pub(crate) shows: usize,
}

/// An event-based style (`lines`, `blocks`): its rows, with loops compressed and, under a
/// budget, a window of events around the focus.
pub(crate) struct EventLayout<'a> {
    frames: &'a Frames<'a>,
    rows: Vec<Row>,
    focus: Option<usize>,
    /// Kept by any window: the calls of the outermost frame and of the focus's own frame,
    /// so that the arguments it all started from stay in view.
    pinned: Vec<usize>,
}

impl<'a> EventLayout<'a> {
    pub(crate) fn new(frames: &'a Frames<'a>, rows: Vec<Row>, focus: Option<&Focus>) -> Self {
        let focus = focus.map(|focus| focus.event);
        let pinned = focus.map_or_else(Vec::new, |focus| {
            let own = frames.frame_of(focus);
            let outermost = std::iter::successors(Some(own), |&f| frames.frames[f].parent)
                .last()
                .unwrap_or(own);
            vec![frames.frames[outermost].call, frames.frames[own].call]
        });
        Self {
            frames,
            rows,
            focus,
            pinned,
        }
    }
}

impl Layout for EventLayout<'_> {
    fn body(&self, detail: Detail) -> Vec<BodyLine> {
        let mut hidden = compress(self.frames, detail.keep, self.focus);
        if let (Some(width), Some(focus)) = (detail.window, self.focus) {
            hidden = window(&hidden, self.frames.len(), focus, width, &self.pinned);
        }
        apply(&self.rows, &hidden)
    }

    fn window_units(&self) -> usize {
        self.frames.len()
    }

    fn total(&self) -> usize {
        self.frames.len()
    }
}

/// Why a range of events is hidden, for its marker line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Label {
    /// The middle iterations of a loop.
    Iterations(usize),
    /// The middle levels of a linear recursion, on the way down.
    RecursiveCalls(usize),
    /// The same levels on the way back up.
    Returns(usize),
    /// Events outside the window kept under a budget.
    Events,
}

/// Events `start..end` hidden, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Omission {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) label: Label,
}

impl Omission {
    fn contains(&self, event: usize) -> bool {
        (self.start..self.end).contains(&event)
    }

    fn overlaps(&self, start: usize, end: usize) -> bool {
        self.start < end && start < self.end
    }
}

/// Keeps `width` events around `focus` (two thirds of them before it: what led there matters
/// more than what followed), and the `pinned` events wherever they are, and hides the rest. A
/// compressed range the window's edge falls in is taken in whole, so its marker stays; ranges
/// outside the window merge into the hidden outside.
pub(crate) fn window(
    omissions: &[Omission],
    events: usize,
    focus: usize,
    width: usize,
    pinned: &[usize],
) -> Vec<Omission> {
    let kept = around(focus, width, events);
    let (mut start, mut end) = (kept.start, kept.end);
    for omission in omissions {
        if omission.contains(start) {
            start = omission.start;
        }
        if end > 0 && omission.contains(end - 1) {
            end = omission.end;
        }
    }
    let mut hidden = outside(0, start, pinned);
    hidden.extend(
        omissions
            .iter()
            .filter(|o| o.start >= start && o.end <= end),
    );
    hidden.extend(outside(end, events, pinned));
    hidden
}

/// Events `start..end` hidden, except the pinned ones.
fn outside(start: usize, end: usize, pinned: &[usize]) -> Vec<Omission> {
    let mut cuts: Vec<usize> = pinned
        .iter()
        .copied()
        .filter(|p| (start..end).contains(p))
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut from = start;
    for cut in cuts.into_iter().chain([end]) {
        if from < cut {
            pieces.push(Omission {
                start: from,
                end: cut,
                label: Label::Events,
            });
        }
        from = cut + 1;
    }
    pieces
}

/// `size` units out of `units` around `focus`, two thirds of the others before it, fewer
/// where an end of the units is near.
pub(crate) fn around(focus: usize, size: usize, units: usize) -> std::ops::Range<usize> {
    let size = size.clamp(1, units.max(1));
    let before = ((size - 1) * 2).div_ceil(3).min(focus);
    let end = (focus - before + size).min(units);
    end.saturating_sub(size).min(focus - before)..end
}

/// Accepts candidate ranges in order of start (longest first), dropping any that overlaps
/// one already accepted: inner loops of a hidden iteration are hidden anyway, and a loop
/// that straddles a recursion's two halves is left alone rather than half-hidden.
pub(crate) fn disjoint(mut candidates: Vec<Omission>) -> Vec<Omission> {
    candidates.sort_by_key(|o| (o.start, std::cmp::Reverse(o.end)));
    let mut accepted: Vec<Omission> = Vec::new();
    for candidate in candidates {
        let clear = accepted
            .iter()
            .all(|kept| !kept.overlaps(candidate.start, candidate.end));
        if clear && candidate.start < candidate.end {
            accepted.push(candidate);
        }
    }
    accepted
}

/// What is left of `rows` once the events in `omissions` (sorted, disjoint) are hidden.
pub(crate) fn apply(rows: &[Row], omissions: &[Omission]) -> Vec<BodyLine> {
    let mut lines = Vec::with_capacity(rows.len());
    let mut hidden: Option<Hidden> = None;
    let mut labelled = vec![false; omissions.len()];
    for row in rows {
        match find(omissions, row.event) {
            Some(range) => match &mut hidden {
                Some(run) if run.range == range => run.shows += row.shows,
                _ => {
                    flush(&mut lines, hidden.take(), omissions, &mut labelled);
                    hidden = Some(Hidden {
                        range,
                        indent: row.indent,
                        shows: row.shows,
                    });
                }
            },
            None => {
                flush(&mut lines, hidden.take(), omissions, &mut labelled);
                lines.push(BodyLine {
                    text: format!("{:indent$}{}", "", row.text, indent = row.indent),
                    shows: row.shows,
                });
            }
        }
    }
    flush(&mut lines, hidden, omissions, &mut labelled);
    lines
}

/// A run of consecutive hidden rows from one range.
struct Hidden {
    range: usize,
    indent: usize,
    shows: usize,
}

fn find(omissions: &[Omission], event: usize) -> Option<usize> {
    let after = omissions.partition_point(|o| o.start <= event);
    let candidate = after.checked_sub(1)?;
    omissions[candidate].contains(event).then_some(candidate)
}

fn flush(
    lines: &mut Vec<BodyLine>,
    run: Option<Hidden>,
    omissions: &[Omission],
    labelled: &mut [bool],
) {
    let Some(run) = run else { return };
    // A range's own label is used once; should visible rows split its run, the later parts
    // say plainly how many events they hide.
    let label = match omissions[run.range].label {
        label if !labelled[run.range] => label,
        _ => Label::Events,
    };
    labelled[run.range] = true;
    let text = match label {
        Label::Iterations(n) => format!("… {n} {} omitted", plural(n, "iteration")),
        Label::RecursiveCalls(n) => format!("… {n} recursive {} omitted", plural(n, "call")),
        Label::Returns(n) => format!("… {n} {} omitted", plural(n, "return")),
        // Rows that only add detail to events shown elsewhere need no marker.
        Label::Events if run.shows == 0 => return,
        Label::Events => format!("… {} {} omitted", run.shows, plural(run.shows, "event")),
    };
    lines.push(BodyLine {
        text: format!("{:indent$}{text}", "", indent = run.indent),
        shows: 0,
    });
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(event: usize, text: &str) -> Row {
        Row {
            event,
            indent: 0,
            text: text.to_string(),
            shows: 1,
        }
    }

    fn texts(lines: &[BodyLine]) -> Vec<&str> {
        lines.iter().map(|line| line.text.as_str()).collect()
    }

    #[test]
    fn a_hidden_range_becomes_one_marker() {
        let rows: Vec<Row> = (0..6).map(|e| row(e, &format!("e{e}"))).collect();
        let omissions = [Omission {
            start: 2,
            end: 5,
            label: Label::Iterations(3),
        }];
        let lines = apply(&rows, &omissions);
        assert_eq!(texts(&lines), ["e0", "e1", "… 3 iterations omitted", "e5"]);
        assert_eq!(lines.iter().map(|l| l.shows).sum::<usize>(), 3);
    }

    #[test]
    fn a_window_keeps_the_focus_and_takes_straddled_ranges_whole() {
        let loop_range = Omission {
            start: 10,
            end: 20,
            label: Label::Iterations(5),
        };
        let kept = window(&[loop_range], 100, 24, 9, &[]);
        assert_eq!(
            kept,
            [
                Omission {
                    start: 0,
                    end: 10,
                    label: Label::Events
                },
                loop_range,
                Omission {
                    start: 27,
                    end: 100,
                    label: Label::Events
                },
            ]
        );
        let at_start = window(&[], 100, 0, 10, &[]);
        assert_eq!(
            at_start,
            [Omission {
                start: 10,
                end: 100,
                label: Label::Events
            }]
        );
        let at_end = window(&[], 100, 99, 10, &[]);
        assert_eq!(
            at_end,
            [Omission {
                start: 0,
                end: 90,
                label: Label::Events
            }]
        );
    }

    #[test]
    fn pinned_events_stay_outside_the_window() {
        let kept = window(&[], 100, 50, 10, &[0, 20, 50, 99]);
        let spans: Vec<(usize, usize)> = kept.iter().map(|o| (o.start, o.end)).collect();
        assert_eq!(spans, [(1, 20), (21, 44), (54, 99)]);
    }

    #[test]
    fn around_leans_before_the_focus_and_keeps_it() {
        assert_eq!(around(10, 6, 30), 6..12);
        assert_eq!(around(10, 1, 30), 10..11);
        assert_eq!(around(0, 6, 30), 0..6);
        assert_eq!(around(29, 6, 30), 24..30);
        assert_eq!(around(3, 50, 5), 0..5);
    }

    #[test]
    fn overlapping_candidates_keep_the_outer_one() {
        let outer = Omission {
            start: 0,
            end: 10,
            label: Label::Iterations(2),
        };
        let inner = Omission {
            start: 2,
            end: 4,
            label: Label::Iterations(1),
        };
        let straddling = Omission {
            start: 8,
            end: 12,
            label: Label::Iterations(1),
        };
        let after = Omission {
            start: 12,
            end: 14,
            label: Label::Returns(1),
        };
        assert_eq!(
            disjoint(vec![inner, after, straddling, outer]),
            [outer, after]
        );
    }
}
