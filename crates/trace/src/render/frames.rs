//! The frame structure of a trace: which activation each event belongs to, the previous and
//! next event of the same frame, the call tree, and each frame's runs of line events.
//!
//! Events carry only a depth, so frames are rebuilt here: a `call` at depth `d` opens a frame
//! there, `return` and `yield` close it, and a generator's `call` with `resumed` reopens the
//! frame it paused. Everything else in the renderer reads frames from this one place.

use tracealign_core::{EventKind, TraceEvent};

/// One activation of a function (a generator's several resumptions are one frame).
#[derive(Debug)]
pub(crate) struct Frame {
    /// The event that opened it: a `call`, or the first event seen when the trace starts
    /// inside the frame.
    pub(crate) call: usize,
    pub(crate) parent: Option<usize>,
    /// Frames this one called, in call order.
    pub(crate) children: Vec<usize>,
    /// Its `return` event, when it returned (or raised) within the trace.
    pub(crate) end: Option<usize>,
    /// It yielded at least once.
    pub(crate) generator: bool,
}

/// A stretch of one frame between being entered (or resumed) and returning (or yielding).
/// Events between two of its line events are its own or deeper ones, never its caller's.
#[derive(Debug)]
pub(crate) struct Segment {
    /// Its line events, in order.
    pub(crate) lines: Vec<usize>,
}

/// The frame structure of one trace.
pub(crate) struct Frames<'t> {
    pub(crate) events: &'t [TraceEvent],
    pub(crate) frames: Vec<Frame>,
    pub(crate) segments: Vec<Segment>,
    /// Each event's frame.
    frame_of: Vec<usize>,
    /// The previous event of the same frame, if any.
    previous: Vec<Option<usize>>,
    /// The next event of the same frame, if any.
    next: Vec<Option<usize>>,
}

/// What is open at one depth while walking the trace.
#[derive(Clone, Copy)]
struct Open {
    frame: usize,
    segment: usize,
}

impl<'t> Frames<'t> {
    pub(crate) fn new(events: &'t [TraceEvent]) -> Self {
        let mut frames = Frames {
            events,
            frames: Vec::new(),
            segments: Vec::new(),
            frame_of: Vec::with_capacity(events.len()),
            previous: vec![None; events.len()],
            next: vec![None; events.len()],
        };
        frames.walk();
        frames
    }

    fn walk(&mut self) {
        let mut open: Vec<Option<Open>> = Vec::new();
        let mut last_of_frame: Vec<Option<usize>> = Vec::new();
        // Generators that yielded and may be resumed: (frame, function, depth).
        let mut paused: Vec<(usize, &str, u32)> = Vec::new();
        let events = self.events;
        for (index, event) in events.iter().enumerate() {
            let depth = event.depth as usize;
            if open.len() <= depth {
                open.resize(depth + 1, None);
            }
            let here = match (event.kind, open[depth]) {
                (EventKind::Call, _) if event.resumed => {
                    let frame = take_paused(&mut paused, &event.func, event.depth)
                        .unwrap_or_else(|| self.open_frame(index, &open[..depth]));
                    self.open_segment(frame)
                }
                (EventKind::Call, _) => {
                    let frame = self.open_frame(index, &open[..depth]);
                    self.open_segment(frame)
                }
                (_, Some(here)) => here,
                // The trace starts inside this frame (or depths skip): adopt it.
                (_, None) => {
                    let frame = self.open_frame(index, &open[..depth]);
                    self.open_segment(frame)
                }
            };
            open[depth] = Some(here);
            self.frame_of.push(here.frame);
            if last_of_frame.len() <= here.frame {
                last_of_frame.resize(here.frame + 1, None);
            }
            if let Some(previous) = last_of_frame[here.frame] {
                self.previous[index] = Some(previous);
                self.next[previous] = Some(index);
            }
            last_of_frame[here.frame] = Some(index);
            match event.kind {
                EventKind::Line => self.segments[here.segment].lines.push(index),
                EventKind::Return => {
                    self.frames[here.frame].end = Some(index);
                    open[depth] = None;
                }
                EventKind::Yield => {
                    self.frames[here.frame].generator = true;
                    paused.push((here.frame, &event.func, event.depth));
                    open[depth] = None;
                }
                EventKind::Call | EventKind::Exception => {}
            }
        }
    }

    fn open_frame(&mut self, call: usize, below: &[Option<Open>]) -> usize {
        let id = self.frames.len();
        let parent = below.iter().rev().flatten().next().map(|open| open.frame);
        if let Some(parent) = parent {
            self.frames[parent].children.push(id);
        }
        self.frames.push(Frame {
            call,
            parent,
            children: Vec::new(),
            end: None,
            generator: false,
        });
        id
    }

    fn open_segment(&mut self, frame: usize) -> Open {
        self.segments.push(Segment { lines: Vec::new() });
        Open {
            frame,
            segment: self.segments.len() - 1,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    pub(crate) fn frame_of(&self, event: usize) -> usize {
        self.frame_of[event]
    }

    pub(crate) fn previous(&self, event: usize) -> Option<usize> {
        self.previous[event]
    }

    pub(crate) fn next(&self, event: usize) -> Option<usize> {
        self.next[event]
    }

    /// The event whose effects `event`'s `changed` reports: the previous event of its frame
    /// (the line that just ran), or the event itself when it has none.
    pub(crate) fn cause(&self, event: usize) -> usize {
        match self.events[event].kind {
            EventKind::Call if !self.events[event].resumed => event,
            _ => self.previous[event].unwrap_or(event),
        }
    }

    /// The function name of a frame.
    pub(crate) fn func(&self, frame: usize) -> &'t str {
        &self.events[self.frames[frame].call].func
    }

    /// `event` is a `return` that only carries an exception out of its frame: the frame's
    /// previous event was the exception, so no value was returned.
    pub(crate) fn is_unwinding(&self, event: usize) -> bool {
        self.events[event].kind == EventKind::Return
            && self
                .previous(event)
                .is_some_and(|previous| self.events[previous].kind == EventKind::Exception)
    }

    /// `event` is an exception arriving from a callee (the same one its frame just unwound
    /// with), rather than one raised here.
    pub(crate) fn is_propagated(&self, event: usize) -> bool {
        let this = &self.events[event];
        if this.kind != EventKind::Exception || event == 0 || !self.is_unwinding(event - 1) {
            return false;
        }
        let raised = self.previous(event - 1).map(|at| &self.events[at]);
        raised.is_some_and(|raised| {
            raised.exc_type == this.exc_type
                && raised.message == this.message
                && raised.depth == this.depth + 1
        })
    }
}

fn take_paused(paused: &mut Vec<(usize, &str, u32)>, func: &str, depth: u32) -> Option<usize> {
    let position = paused
        .iter()
        .rposition(|p| p.1 == func && p.2 == depth)
        .or_else(|| paused.iter().rposition(|p| p.1 == func))?;
    Some(paused.remove(position).0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tracealign_core::Vars;

    /// A compact event builder for unit tests: `ev(kind, func, line, depth)`.
    pub(crate) fn ev(kind: EventKind, func: &str, line: u32, depth: u32) -> TraceEvent {
        TraceEvent {
            step: 0,
            kind,
            func: func.to_string(),
            line,
            depth,
            args: Vars::new(),
            changed: Vars::new(),
            value: None,
            resumed: false,
            exc_type: None,
            message: None,
        }
    }

    /// Numbers the steps in order.
    pub(crate) fn numbered(mut events: Vec<TraceEvent>) -> Vec<TraceEvent> {
        for (step, event) in events.iter_mut().enumerate() {
            event.step = step as u64;
        }
        events
    }

    #[test]
    fn a_resumed_generator_continues_its_frame() {
        use EventKind::*;
        let mut resume = ev(Call, "gen", 2, 1);
        resume.resumed = true;
        let events = numbered(vec![
            ev(Call, "main", 5, 0),
            ev(Line, "main", 6, 0),
            ev(Call, "gen", 1, 1),
            ev(Line, "gen", 2, 1),
            ev(Yield, "gen", 2, 1),
            ev(Line, "main", 7, 0),
            resume,
            ev(Line, "gen", 3, 1),
            ev(Return, "gen", 3, 1),
            ev(Return, "main", 7, 0),
        ]);
        let frames = Frames::new(&events);
        assert_eq!(frames.frames.len(), 2);
        assert_eq!(frames.frame_of(6), frames.frame_of(2));
        assert_eq!(frames.previous(6), Some(4));
        assert_eq!(frames.next(1), Some(5));
        assert_eq!(frames.cause(5), 1);
        assert!(frames.frames[1].generator);
        assert_eq!(frames.frames[0].children, [1]);
        assert_eq!(frames.segments.len(), 3);
    }

    #[test]
    fn an_exception_unwinds_and_propagates_to_the_caller() {
        use EventKind::*;
        let raise = |depth| {
            let mut e = ev(Exception, "f", 2, depth);
            e.exc_type = Some("ValueError".into());
            e.message = Some("bad".into());
            e
        };
        let events = numbered(vec![
            ev(Call, "main", 1, 0),
            ev(Line, "main", 2, 0),
            ev(Call, "f", 5, 1),
            raise(1),
            ev(Return, "f", 6, 1),
            raise(0),
            ev(Return, "main", 2, 0),
        ]);
        let frames = Frames::new(&events);
        assert!(frames.is_unwinding(4));
        assert!(!frames.is_propagated(3));
        assert!(frames.is_propagated(5));
        assert!(frames.is_unwinding(6));
    }
}
