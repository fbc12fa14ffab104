//! The `summary` style: what each function ended with.
//!
//! ```text
//! divergence in total: expected 1, actual 2 (step 4, in f)
//! f: 1 call, f(xs=[1, 2, 3])
//!   last values: total=6, x=3
//!   returned 6
//! ```
//!
//! Functions come in the order of their first call. A function called several times shows
//! its first call and, across all calls, the last value each variable had, everything it
//! returned or yielded (first and last `keep` of a long run), and the exceptions it raised.

use tracealign_core::EventKind;

use super::budget::{BodyLine, Detail, Layout};
use super::frames::Frames;
use super::source::Program;
use super::text::{self, series, State};
use crate::Divergence;

/// One function over the whole test.
struct Function {
    name: String,
    calls: usize,
    /// `f(x=1)` for the first call; `<listcomp> at line 3` for comprehensions and the like.
    first_call: String,
    last_values: State,
    returned: Vec<String>,
    yielded: Vec<String>,
    raised: Vec<String>,
}

/// The `summary` layout.
pub(crate) struct Summary {
    divergence: Option<String>,
    functions: Vec<Function>,
}

impl Summary {
    pub(crate) fn new(frames: &Frames, program: &Program, divergence: Option<&Divergence>) -> Self {
        Self {
            divergence: divergence.map(describe_divergence),
            functions: functions(frames, program),
        }
    }
}

impl Layout for Summary {
    fn body(&self, detail: Detail) -> Vec<BodyLine> {
        let mut body: Vec<BodyLine> = self
            .divergence
            .iter()
            .map(|line| plain(line.clone()))
            .collect();
        for function in &self.functions {
            body.extend(function_lines(function, detail.keep));
        }
        body
    }

    fn window_units(&self) -> usize {
        0
    }

    fn total(&self) -> usize {
        self.functions
            .iter()
            .map(|f| f.returned.len() + f.yielded.len())
            .sum()
    }
}

/// `divergence in total: expected 1, actual 2 (step 4, in f)`.
fn describe_divergence(divergence: &Divergence) -> String {
    let at = &divergence.candidate;
    let subject = divergence
        .subject
        .as_deref()
        .map_or(String::new(), |subject| format!(" in {subject}"));
    let values = match (&divergence.expected, &divergence.actual) {
        (Some(expected), Some(actual)) => format!(
            ": expected {}, actual {}",
            text::value(expected),
            text::value(actual)
        ),
        (Some(expected), None) => format!(": expected {}", text::value(expected)),
        (None, Some(actual)) => format!(": actual {}", text::value(actual)),
        (None, None) => String::new(),
    };
    format!(
        "divergence{subject}{values} (step {}, in {})",
        at.step, at.func
    )
}

fn functions(frames: &Frames, program: &Program) -> Vec<Function> {
    let mut functions: Vec<Function> = Vec::new();
    for index in 0..frames.len() {
        let name = frames.func(frames.frame_of(index));
        let position = match functions.iter().position(|f| f.name == name) {
            Some(position) => position,
            None => {
                functions.push(Function {
                    name: name.to_string(),
                    calls: 0,
                    first_call: first_call(frames, program, index),
                    last_values: State::default(),
                    returned: Vec::new(),
                    yielded: Vec::new(),
                    raised: Vec::new(),
                });
                functions.len() - 1
            }
        };
        record(&mut functions[position], frames, program, index);
    }
    functions
}

fn first_call(frames: &Frames, program: &Program, index: usize) -> String {
    let call = &frames.events[frames.frames[frames.frame_of(index)].call];
    if call.func.starts_with('<') {
        format!("{} at line {}", call.func, call.line)
    } else {
        text::call(call, program)
    }
}

fn record(function: &mut Function, frames: &Frames, program: &Program, index: usize) {
    let event = &frames.events[index];
    function.last_values.set_arguments(event, program);
    function.last_values.set_all(&event.changed);
    let generator = frames.frames[frames.frame_of(index)].generator;
    let value = || event.value.clone().unwrap_or_else(|| "None".into());
    match event.kind {
        EventKind::Call if !event.resumed => function.calls += 1,
        EventKind::Return if !generator && !frames.is_unwinding(index) => {
            function.returned.push(value());
        }
        EventKind::Yield => function.yielded.push(value()),
        EventKind::Exception if !frames.is_propagated(index) => {
            function
                .raised
                .push(format!("{} at line {}", text::exception(event), event.line))
        }
        _ => {}
    }
}

fn function_lines(function: &Function, keep: usize) -> Vec<BodyLine> {
    let title = match function.calls.max(1) {
        1 => format!("{}: 1 call, {}", function.name, function.first_call),
        n => format!(
            "{}: {n} calls, the first {}",
            function.name, function.first_call
        ),
    };
    let mut lines = vec![plain(title)];
    if !function.last_values.is_empty() {
        lines.push(plain(format!(
            "  last values: {}",
            function.last_values.describe()
        )));
    }
    for (verb, values) in [
        ("returned", &function.returned),
        ("yielded", &function.yielded),
    ] {
        if !values.is_empty() {
            let run = series(values, keep, " → ");
            lines.push(BodyLine {
                text: format!("  {verb} {}", run.text),
                shows: run.shown,
            });
        }
    }
    if !function.raised.is_empty() {
        let run = series(&function.raised, keep, ", ");
        lines.push(plain(format!("  raised {}", run.text)));
    }
    lines
}

fn plain(text: String) -> BodyLine {
    BodyLine { text, shows: 0 }
}
