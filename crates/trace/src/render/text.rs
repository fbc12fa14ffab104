//! How events and values are worded, the same way in every style.

use tracealign_core::{TraceEvent, Vars};

use super::source::{one_line, Program};

/// Longest value shown; the tracer bounds values already, this guards other producers.
const MAX_VALUE_CHARS: usize = 100;

/// Locals that are interpreter machinery, not the program's variables (the iterator a
/// comprehension receives is `.0`).
pub(crate) fn is_machinery(name: &str) -> bool {
    name.starts_with('.')
}

/// A value as shown: on one line, bounded.
pub(crate) fn value(text: &str) -> String {
    one_line(text, MAX_VALUE_CHARS)
}

/// `f(a=1, b=[2])` for a `call` event.
pub(crate) fn call(event: &TraceEvent, program: &Program) -> String {
    let args: Vec<String> = arguments(event, program)
        .map(|(name, text)| format!("{name}={}", value(text)))
        .collect();
    format!("{}({})", event.func, args.join(", "))
}

/// A `call` event's arguments in the order of the `def`; names the `def` does not list
/// (it could not be parsed) follow in alphabetical order.
pub(crate) fn arguments<'e>(
    event: &'e TraceEvent,
    program: &Program,
) -> impl Iterator<Item = (&'e str, &'e str)> {
    let order = program.params(event.line);
    let position = |name: &str| order.iter().position(|p| p == name).unwrap_or(order.len());
    let mut named: Vec<(&str, &str)> = event
        .args
        .iter()
        .filter(|(name, _)| !is_machinery(name))
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    named.sort_by_key(|(name, _)| position(name));
    named.into_iter()
}

/// `IndexError: list index out of range` for an `exception` event.
pub(crate) fn exception(event: &TraceEvent) -> String {
    let kind = event.exc_type.as_deref().unwrap_or("exception");
    match event.message.as_deref() {
        Some(message) if !message.is_empty() => format!("{kind}: {}", value(message)),
        _ => kind.to_string(),
    }
}

/// Variables in the order they were first set, each with its latest value.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    vars: Vec<(String, String)>,
}

impl State {
    pub(crate) fn set_all(&mut self, vars: &Vars) {
        for (name, text) in vars {
            self.set(name, text);
        }
    }

    /// Sets a call's arguments, in the order of the `def`.
    pub(crate) fn set_arguments(&mut self, call: &TraceEvent, program: &Program) {
        for (name, text) in arguments(call, program) {
            self.set(name, text);
        }
    }

    fn set(&mut self, name: &str, text: &str) {
        if is_machinery(name) {
            return;
        }
        match self.vars.iter_mut().find(|(known, _)| known == name) {
            Some((_, old)) => *old = text.to_string(),
            None => self.vars.push((name.to_string(), text.to_string())),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// `a=1, b=[2]`.
    pub(crate) fn describe(&self) -> String {
        self.vars
            .iter()
            .map(|(name, text)| format!("{name}={}", value(text)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A run of values as `a → b … (4 more) → y → z`: equal neighbours folded as `v (×3)`, and
/// only the first and last `keep` of them shown when there are more than `2 * keep + 1`.
pub(crate) struct Series {
    pub(crate) text: String,
    /// Values shown (a folded `v (×3)` shows 3).
    pub(crate) shown: usize,
}

pub(crate) fn series(values: &[String], keep: usize, separator: &str) -> Series {
    let groups = fold(values);
    let word = |(text, count): &(&str, usize)| match count {
        1 => value(text),
        n => format!("{} (×{n})", value(text)),
    };
    let join =
        |groups: &[(&str, usize)]| groups.iter().map(word).collect::<Vec<_>>().join(separator);
    if groups.len() <= 2 * keep + 1 {
        return Series {
            text: join(&groups),
            shown: values.len(),
        };
    }
    let (first, rest) = groups.split_at(keep);
    let (middle, last) = rest.split_at(rest.len() - keep);
    let hidden: usize = middle.iter().map(|(_, count)| count).sum();
    Series {
        text: format!("{} … ({hidden} more){separator}{}", join(first), join(last)),
        shown: values.len() - hidden,
    }
}

fn fold(values: &[String]) -> Vec<(&str, usize)> {
    let mut groups: Vec<(&str, usize)> = Vec::new();
    for text in values {
        match groups.last_mut() {
            Some((last, count)) if *last == text => *count += 1,
            _ => groups.push((text, 1)),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn a_long_series_keeps_its_ends() {
        let values = strings(&["1", "3", "6", "10", "15", "21", "28"]);
        let shown = series(&values, 2, " → ");
        assert_eq!(shown.text, "1 → 3 … (3 more) → 21 → 28");
        assert_eq!(shown.shown, 4);
        assert_eq!(series(&values[..5], 2, " → ").text, "1 → 3 → 6 → 10 → 15");
    }

    #[test]
    fn equal_neighbours_fold() {
        let values = strings(&["0", "0", "0", "1"]);
        let shown = series(&values, 1, ", ");
        assert_eq!(shown.text, "0 (×3), 1");
        assert_eq!(shown.shown, 4);
    }

    #[test]
    fn arguments_follow_the_def_and_hide_machinery() {
        let program = Program::new("def run(start, amounts):\n    pass\n");
        let mut event =
            crate::render::frames::tests::ev(tracealign_core::EventKind::Call, "run", 1, 0);
        for (name, text) in [("amounts", "[4]"), ("start", "10"), (".0", "<iter>")] {
            event.args.insert(name.into(), text.into());
        }
        assert_eq!(call(&event, &program), "run(start=10, amounts=[4])");
    }

    #[test]
    fn state_keeps_first_assignment_order() {
        let mut state = State::default();
        let vars = |pairs: &[(&str, &str)]| -> Vars {
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        state.set_all(&vars(&[("total", "0")]));
        state.set_all(&vars(&[("i", "1"), ("total", "2")]));
        assert_eq!(state.describe(), "total=2, i=1");
    }
}
