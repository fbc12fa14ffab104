//! Rows of execution prediction from traced runs: for each traced test whose top-level call
//! of the entry point returned, the call as Python source and what it did.
//!
//! - `output`: the program and the call → the returned value's `repr` (CRUXEval-O);
//! - `path`: the numbered program and the call → the entry function's lines in the order
//!   they ran, loops compressed ([`crate::path`]; TRACED's execution path);
//! - `input`: the program and a returned value → arguments that make the entry point
//!   return it (CRUXEval-I): the call's own arguments are one right answer, and any other
//!   is judged by running it;
//! - `state`: the numbered program, the call and a line → every variable of the entry
//!   function right after that line first ran (TRACED's dynamic values), one `name = repr`
//!   per line, names sorted;
//! - `state_category`: the same question answered in TRACED's value categories
//!   ([`category`]: `zero`, `positive`, `empty list`, ...) instead of exact values.
//!
//! Rows come from passing programs (references included) and, marked `from_failing`, from
//! failing ones: what a buggy program really does, not what it was meant to do.
//!
//! A call is written positionally in the definition's parameter order from the values the
//! tracer saw; a test is left out when that cannot be exact: a `*args`/`**kwargs`
//! parameter, a value cut short by the trace's bounds (`…`) or without a literal form
//! (`<object at ...>`), a truncated trace, or a call that raised.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use tracealign_core::python::{definition_name, named_children, parse, text, top_level_functions};
use tracealign_core::{EventKind, Execution, Problem, Trace, TraceEvent, Vars};

use tracealign_trace::render::{render, CharsPerToken, RenderInput, RenderOptions};

use crate::literal::literal_value;
use crate::path;

/// What a row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Output,
    Input,
    Path,
    State,
    StateCategory,
    /// `output` answered after the call's trace, rendered as a step-by-step rationale:
    /// the completion is the rationale, then `Answer: repr`.
    Rationale,
}

impl Task {
    pub const ALL: [Task; 6] = [
        Task::Output,
        Task::Input,
        Task::Path,
        Task::State,
        Task::StateCategory,
        Task::Rationale,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Task::Output => "output",
            Task::Input => "input",
            Task::Path => "path",
            Task::State => "state",
            Task::StateCategory => "state_category",
            Task::Rationale => "rationale",
        }
    }
}

/// The right answer, structured for the checker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Answer {
    /// A value's `repr`.
    Value { repr: String },
    /// Arguments (Python source) for which the entry point returns `returns` (a `repr`):
    /// judged by calling it with the answer.
    Arguments { returns: String },
    /// Line numbers in the order they ran.
    Lines { lines: Vec<u32> },
    /// `[name, repr]` pairs, names sorted (a list, not a map: dataset loaders give a map's
    /// every key across all rows a column of its own).
    Vars { vars: Vec<(String, String)> },
    /// `[name, category]` pairs, names sorted: each compared as text.
    Categories { vars: Vec<(String, String)> },
}

/// One training row (TRL's prompt/completion, with what makes it checkable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictRow {
    pub id: String,
    pub kind: Task,
    pub problem_id: String,
    pub sample_id: String,
    pub test: String,
    /// The program failed some test: the row says what the buggy program does.
    pub from_failing: bool,
    pub prompt: String,
    pub completion: String,
    /// The program, the entry point and the call, for a fresh execution.
    pub code: String,
    pub entry_point: String,
    /// Arguments as Python source, between the call's parentheses.
    pub args: String,
    /// `state`: the line asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// `output` and `rationale`: the call's trace rendered step by step (`lines` style,
    /// at most 400 tokens of ~4 characters), for a prompt or a completion that shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    pub answer: Answer,
}

/// How many rows, of which kinds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictOptions {
    pub tasks: Vec<Task>,
    /// Rows per problem and kind at most (tests taken in turn across the programs). Default 4.
    pub per_problem: usize,
    /// Rows from failing programs too. Default true.
    pub failing: bool,
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions {
            tasks: Task::ALL.to_vec(),
            per_problem: 4,
            failing: true,
        }
    }
}

/// Rows from `executions` (run with full traces) of `problems`, in problem order; a row
/// whose prompt and answer another already has is left out.
pub fn build_rows(
    problems: &[Problem],
    executions: &[Execution],
    options: &PredictOptions,
) -> Vec<PredictRow> {
    let mut rows = Vec::new();
    for problem in problems {
        let programs: Vec<&Execution> = (executions.iter())
            .filter(|e| e.problem_id == problem.id && (options.failing || e.passed))
            .collect();
        let calls = in_turn(programs.iter().map(|e| calls(problem, e)).collect());
        for &task in &options.tasks {
            let mut seen = HashSet::new();
            let made = (calls.iter())
                .filter_map(|call| row(task, call))
                .filter(|row| seen.insert((row.prompt.clone(), row.completion.clone())))
                .take(options.per_problem);
            rows.extend(made);
        }
    }
    rows
}

/// Training rows of another kind (SFT rows, say) interleaved with execution-prediction
/// rows, one of each in turn: at most as many prediction rows as `others`, taken across
/// their kinds in turn (an output row, an input row, ..., then the next of each), so that a
/// cut keeps every kind. The rows are JSON, since their shapes differ; trainers read the
/// `prompt` and `completion` both have.
pub fn interleave<T: Serialize>(
    others: &[T],
    predictions: &[PredictRow],
) -> Vec<serde_json::Value> {
    let by_kind: Vec<Vec<&PredictRow>> = (Task::ALL.iter())
        .map(|&task| predictions.iter().filter(|r| r.kind == task).collect())
        .collect();
    let predictions = in_turn(by_kind);
    let json = |row: serde_json::Result<serde_json::Value>| row.expect("rows serialize");
    let mut mixed = Vec::new();
    for (i, other) in others.iter().enumerate() {
        mixed.push(json(serde_json::to_value(other)));
        if let Some(prediction) = predictions.get(i) {
            mixed.push(json(serde_json::to_value(prediction)));
        }
    }
    mixed
}

/// The first item of each list, then the second of each, and so on: every program gets
/// its turn before any gets a second row.
fn in_turn<T>(lists: Vec<Vec<T>>) -> Vec<T> {
    let mut iters: Vec<_> = lists.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        out.extend(iters.iter_mut().filter_map(Iterator::next));
        if out.len() == before {
            return out;
        }
    }
}

/// One traced top-level call that returned.
struct Call<'a> {
    execution: &'a Execution,
    trace: &'a Trace,
    test: &'a str,
    entry: &'a str,
    args: String,
    /// The entry function's own events, call to return.
    events: Vec<&'a TraceEvent>,
    value: String,
}

fn calls<'a>(problem: &'a Problem, execution: &'a Execution) -> Vec<Call<'a>> {
    let Some(parameters) = parameters(&execution.code, &problem.entry_point) else {
        return Vec::new();
    };
    (execution.tests.iter())
        .filter_map(|test| {
            let trace = test.trace.as_ref().filter(|t| !t.truncated)?;
            let (args, events, value) = top_call(trace, &problem.entry_point, &parameters)?;
            Some(Call {
                execution,
                trace,
                test: &test.name,
                entry: &problem.entry_point,
                args,
                events,
                value,
            })
        })
        .collect()
}

/// The entry point's parameter names in order; `None` for `*args`/`**kwargs` or no such
/// top-level function.
fn parameters(code: &str, entry: &str) -> Option<Vec<String>> {
    let tree = parse(code);
    let function =
        top_level_functions(tree.root_node()).find(|f| definition_name(*f, code) == Some(entry))?;
    let list = function.child_by_field_name("parameters")?;
    named_children(list)
        .map(|p| match p.kind() {
            "identifier" => Some(text(p, code).to_string()),
            "default_parameter" | "typed_parameter" | "typed_default_parameter" => {
                let name = p.child_by_field_name("name").or_else(|| p.named_child(0))?;
                (name.kind() == "identifier").then(|| text(name, code).to_string())
            }
            _ => None,
        })
        .collect()
}

/// The first top-level call of `entry` in `trace`: its arguments as source, its own events
/// and the returned value; `None` when it raised or a value has no exact literal.
fn top_call<'a>(
    trace: &'a Trace,
    entry: &str,
    parameters: &[String],
) -> Option<(String, Vec<&'a TraceEvent>, String)> {
    let at = |e: &TraceEvent| e.depth == 0 && e.func == entry;
    let start = trace
        .events
        .iter()
        .position(|e| at(e) && e.kind == EventKind::Call && !e.resumed)?;
    let call = &trace.events[start];
    let values: Option<Vec<&String>> = parameters.iter().map(|p| call.args.get(p)).collect();
    let values = values?;
    if call.args.len() != parameters.len() || !values.iter().all(|v| exact(v)) {
        return None;
    }
    let mut events = vec![call];
    for event in &trace.events[start + 1..] {
        if !at(event) {
            continue;
        }
        events.push(event);
        match event.kind {
            EventKind::Return => {
                let value = event.value.clone().filter(|v| exact(v))?;
                let args = values
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Some((args, events, value));
            }
            EventKind::Yield | EventKind::Exception => return None,
            EventKind::Call | EventKind::Line => {}
        }
    }
    None
}

/// Whether a bounded `repr` is the value itself: not cut short (`…` in a long string,
/// `...` ending a summarised container), a Python literal (not an object such as
/// `<__candidate__.Pair object>`, alone or inside a list: the checker reads values with
/// `ast.literal_eval`), and not a dict (the tracer writes a dict's keys sorted, so its
/// insertion order, which iteration follows, is lost; a string that looks like one is
/// left out with them).
fn exact(repr: &str) -> bool {
    let dict = repr.contains('{') && repr.contains(':');
    !dict && !repr.contains('…') && !repr.contains("...") && literal_value(repr)
}

fn row(task: Task, call: &Call) -> Option<PredictRow> {
    let invocation = format!("{}({})", call.entry, call.args);
    let code = call.execution.code.trim_end();
    let rationale = matches!(task, Task::Output | Task::Rationale).then(|| rationale(call));
    let (prompt, completion, line, answer) = match task {
        Task::Output => (
            format!(
                "```python\n{code}\n```\n\nWhat does `{invocation}` return? Answer with a Python \
                 literal and nothing else.\n"
            ),
            call.value.clone(),
            None,
            Answer::Value {
                repr: call.value.clone(),
            },
        ),
        Task::Rationale => (
            format!(
                "```python\n{code}\n```\n\nWhat does `{invocation}` return? Trace its execution \
                 step by step, then give the value on a last line `Answer: <Python literal>`.\n"
            ),
            format!(
                "{}\nAnswer: {}",
                rationale.clone().unwrap_or_default(),
                call.value
            ),
            None,
            Answer::Value {
                repr: call.value.clone(),
            },
        ),
        Task::Input => (
            format!(
                "```python\n{code}\n```\n\nGive arguments for which `{}` returns `{}`: the \
                 Python source that goes between the call's parentheses, and nothing else.\n",
                call.entry, call.value
            ),
            call.args.clone(),
            None,
            Answer::Arguments {
                returns: call.value.clone(),
            },
        ),
        Task::Path => {
            let lines = lines_run(&call.events);
            (
                format!(
                    "```python\n{}```\n\nWhen `{invocation}` runs, which lines of `{}` run, in \
                     order? Write a repeated block once as `[a, b] × n`. Answer with the line \
                     numbers and nothing else.\n",
                    numbered(code),
                    call.entry
                ),
                path::compress(&lines),
                None,
                Answer::Lines { lines },
            )
        }
        Task::State => {
            let (line, vars) = state(&call.events)?;
            let text: Vec<String> = vars.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            (
                format!(
                    "```python\n{}```\n\nWhen `{invocation}` runs, what are the values of `{}`'s \
                     variables right after line {line} runs for the first time? Answer one \
                     `name = value` per line, names in alphabetical order, and nothing else.\n",
                    numbered(code),
                    call.entry
                ),
                text.join("\n"),
                Some(line),
                Answer::Vars {
                    vars: vars.into_iter().collect(),
                },
            )
        }
        Task::StateCategory => {
            let (line, vars) = state(&call.events)?;
            let vars: Vec<(String, String)> = (vars.into_iter())
                .map(|(name, repr)| (name, category(&repr).to_string()))
                .collect();
            let text: Vec<String> = vars.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            (
                format!(
                    "```python\n{}```\n\nWhen `{invocation}` runs, what kinds of values do \
                     `{}`'s variables hold right after line {line} runs for the first time? \
                     Answer one `name = kind` per line, names in alphabetical order, each kind \
                     one of: {}; and nothing else.\n",
                    numbered(code),
                    call.entry,
                    CATEGORIES.join(", ")
                ),
                text.join("\n"),
                Some(line),
                Answer::Categories { vars },
            )
        }
    };
    Some(PredictRow {
        id: format!("{}:{}:{}", call.execution.sample_id, call.test, task.name()),
        kind: task,
        problem_id: call.execution.problem_id.clone(),
        sample_id: call.execution.sample_id.clone(),
        test: call.test.to_string(),
        from_failing: !call.execution.passed,
        prompt,
        completion,
        code: call.execution.code.clone(),
        entry_point: call.entry.to_string(),
        args: call.args.clone(),
        line,
        rationale,
        answer,
    })
}

/// Every value category [`category`] gives.
pub const CATEGORIES: [&str; 18] = [
    "None",
    "True",
    "False",
    "zero",
    "positive",
    "negative",
    "zero float",
    "positive float",
    "negative float",
    "empty string",
    "string",
    "empty list",
    "list",
    "empty tuple",
    "tuple",
    "empty set",
    "set",
    "other",
];

/// A value's category, in the manner of TRACED's quantized dynamic values (sign for
/// numbers, emptiness for strings and containers), from its exact `repr`; `other` for what
/// none fits (bytes, complex numbers, infinities).
pub fn category(repr: &str) -> &'static str {
    let repr = repr.trim();
    let empty = |e: bool, empty: &'static str, full: &'static str| if e { empty } else { full };
    match repr {
        "None" => return "None",
        "True" => return "True",
        "False" => return "False",
        "set()" => return "empty set",
        _ => {}
    }
    if let Ok(int) = repr.parse::<i128>() {
        return match int.signum() {
            0 => "zero",
            1 => "positive",
            _ => "negative",
        };
    }
    if repr.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        // An int past i128: its sign is its first character.
        return empty(repr.starts_with('-'), "negative", "positive");
    }
    if let Some(float) = repr.parse::<f64>().ok().filter(|f| f.is_finite()) {
        return match float {
            f if f > 0.0 => "positive float",
            f if f < 0.0 => "negative float",
            _ => "zero float",
        };
    }
    match repr.chars().next() {
        Some('\'' | '"') => empty(repr.len() == 2, "empty string", "string"),
        Some('[') => empty(repr == "[]", "empty list", "list"),
        Some('(') => empty(repr == "()", "empty tuple", "tuple"),
        Some('{') => "set",
        _ => "other",
    }
}

/// The call's trace rendered as a step-by-step rationale.
fn rationale(call: &Call) -> String {
    let input = RenderInput {
        source: &call.execution.code,
        trace: call.trace,
        test: None,
        divergence: None,
    };
    let options = RenderOptions {
        budget: Some(400),
        ..RenderOptions::default()
    };
    render(&input, &options, &CharsPerToken).text
}

/// The program with `N | ` before each line.
fn numbered(code: &str) -> String {
    let width = code.lines().count().to_string().len();
    code.lines()
        .enumerate()
        .map(|(i, line)| format!("{:>width$} | {line}\n", i + 1))
        .collect()
}

/// The entry function's lines, in the order they ran.
pub fn lines_run(events: &[&TraceEvent]) -> Vec<u32> {
    (events.iter())
        .filter(|e| e.kind == EventKind::Line)
        .map(|e| e.line)
        .collect()
}

/// A line to ask about and the variables right after its first run: the middle-most line
/// event whose run changed something, with every variable known then (the arguments, then
/// each change in order). `None` when no line changed a variable, or a value is not exact.
pub fn state(events: &[&TraceEvent]) -> Option<(u32, Vars)> {
    // A line event carries the changes of the event before it in the frame: the run of
    // line k is told by event k + 1.
    let changing: Vec<usize> = (1..events.len())
        .filter(|&k| events[k - 1].kind == EventKind::Line && !events[k].changed.is_empty())
        .filter(|&k| first_visit(events, k - 1))
        .collect();
    let k = *changing.get(changing.len() / 2)?;
    let mut vars = events[0].args.clone();
    for event in &events[1..=k] {
        vars.extend(event.changed.iter().map(|(n, v)| (n.clone(), v.clone())));
    }
    vars.values()
        .all(|v| exact(v))
        .then_some((events[k - 1].line, vars))
}

/// Whether the line event at `k` is its line's first run in the call.
fn first_visit(events: &[&TraceEvent], k: usize) -> bool {
    let line = events[k].line;
    !events[..k]
        .iter()
        .any(|e| e.kind == EventKind::Line && e.line == line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_fall_in_traced_style_categories() {
        let cases = [
            ("None", "None"),
            ("True", "True"),
            ("0", "zero"),
            ("-3", "negative"),
            ("123456789012345678901234567890123456789012", "positive"),
            ("0.0", "zero float"),
            ("-2.5", "negative float"),
            ("1e+100", "positive float"),
            ("''", "empty string"),
            ("'a'", "string"),
            ("\"it's\"", "string"),
            ("[]", "empty list"),
            ("[1, 2]", "list"),
            ("()", "empty tuple"),
            ("(1,)", "tuple"),
            ("set()", "empty set"),
            ("{1, 2}", "set"),
            ("b'x'", "other"),
            ("inf", "other"),
        ];
        for (repr, category_name) in cases {
            assert_eq!(category(repr), category_name, "{repr}");
            assert!(CATEGORIES.contains(&category(repr)));
        }
    }
}
