//! Undefined names: a failing test that raised `NameError` for a name the program never
//! defines, assigns or imports points at something missing from the program (an import, or
//! a helper the tests expect). A fix either stops using the name or adds what is missing, so
//! the blame goes to the line in a function body that used it; when no such line did (the
//! test's own code called a helper the program lacks, or a signature's annotation named an
//! unimported type) it goes to the `def` line of the top-level function concerned, or of
//! the program's first function: what is missing belongs above it.

use tracealign_core::TestOutcome;

use crate::evidence::{LineScores, Run};
use crate::program::Program;

/// Score per line: the share of failing tests that raised `NameError` for a name the
/// program defines nowhere.
pub fn undefined_name_scores(run: &Run) -> LineScores {
    let mut scores = LineScores::new();
    let program = Program::parse(run.code);
    let Some(defined) = program.defined_names() else {
        return scores; // a wildcard import may define anything
    };
    let functions = program.top_level_functions();
    let Some(&(first, _)) = functions.first() else {
        return scores;
    };
    let defs: Vec<u32> = functions.iter().map(|f| f.0).collect();
    let body: Vec<u32> = program
        .fault_lines()
        .into_iter()
        .filter(|l| !defs.contains(l))
        .collect();
    let failing: Vec<usize> = run.failing_tests().collect();
    let share = 1.0 / failing.len().max(1) as f64;
    for test in failing {
        let TestOutcome::Error {
            exc_type,
            message,
            line,
            ..
        } = &run.execution.tests[test].outcome
        else {
            continue;
        };
        let missing = undefined_name(exc_type, message).filter(|n| !defined.contains(*n));
        if missing.is_none() {
            continue;
        }
        let blamed = match line {
            Some(l) if body.contains(l) => *l,
            Some(l) => functions
                .iter()
                .find(|(def, end)| (*def..=*end).contains(l))
                .map_or(first, |f| f.0),
            None => first,
        };
        *scores.entry(blamed).or_default() += share;
    }
    scores
}

/// The name of a `NameError: name 'x' is not defined`.
fn undefined_name<'m>(exc_type: &str, message: &'m str) -> Option<&'m str> {
    if exc_type != "NameError" {
        return None;
    }
    let rest = message.strip_prefix("name '")?;
    let (name, tail) = rest.split_once('\'')?;
    tail.starts_with(" is not defined").then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracealign_core::Execution;

    fn name_error(name: &str, line: Option<u32>) -> TestOutcome {
        TestOutcome::Error {
            exc_type: "NameError".into(),
            message: format!("name '{name}' is not defined"),
            line,
            at_load: false,
        }
    }

    #[test]
    fn a_missing_name_is_blamed_where_it_is_used_else_on_the_def_line() {
        let code = "import math\n\ndef f(xs):\n    return helper(xs) + math.floor(1.5)\n\ndef g(x: Vector):\n    return x\n";
        let outcomes = [
            name_error("helper", Some(4)), // used in a body: that line
            name_error("encode", None),    // used by the test: the first function
            name_error("math", Some(4)),   // imported: not missing (a NameError of its own)
            name_error("Vector", Some(6)), // an annotation: its function's def line
            TestOutcome::Passed,
        ];
        let execution = Execution::with_outcomes("p", "s", code, &outcomes);
        let run = Run {
            code,
            execution: &execution,
        };
        let scores = undefined_name_scores(&run);
        let expected = LineScores::from([(3, 0.25), (4, 0.25), (6, 0.25)]);
        assert_eq!(scores, expected);
    }

    #[test]
    fn only_name_errors_name_a_missing_name() {
        assert_eq!(
            undefined_name("NameError", "name 'math' is not defined"),
            Some("math")
        );
        assert_eq!(
            undefined_name(
                "NameError",
                "name 'List' is not defined. Did you mean: 'list'?"
            ),
            Some("List")
        );
        assert_eq!(
            undefined_name("UnboundLocalError", "name 'x' is not defined"),
            None
        );
        assert_eq!(
            undefined_name("NameError", "cannot access free variable 'x'"),
            None
        );
    }
}
