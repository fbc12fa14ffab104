//! What a failing program is told: its first failing test, how it failed, and the test's
//! source — the same header lines a rendered trace starts with (`test NAME: OUTCOME`, then
//! the test's code indented by two spaces), so a prompt reads alike with or without a trace.

use tracealign_core::{Args, Execution, Problem, ProgramStatus, TestKind};

/// The first thing that went wrong with a program.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The failing test's index in the problem (and the execution); `None` for a syntax error.
    pub test: Option<usize>,
    /// The test's name, or `syntax` for a syntax error.
    pub name: String,
    /// The test's source, when known.
    pub code: Option<String>,
    /// How it ended, in words: `failed: expected 6, got 5`,
    /// `error: IndexError: list index out of range (line 4)`.
    pub outcome: String,
}

impl Failure {
    /// The first failure of `execution`: its syntax error, else its first test that did not
    /// pass; `None` for a passing program.
    pub fn first(problem: &Problem, execution: &Execution) -> Option<Failure> {
        if let ProgramStatus::SyntaxError { line, message } = &execution.status {
            return Some(Failure {
                test: None,
                name: "syntax".into(),
                code: None,
                outcome: match line {
                    Some(line) if !message.contains(&format!("line {line}")) => {
                        format!("syntax error: {message} (line {line})")
                    }
                    _ => format!("syntax error: {message}"),
                },
            });
        }
        let (index, test) = execution
            .tests
            .iter()
            .enumerate()
            .find(|(_, t)| !t.outcome.is_passed())?;
        Some(Failure {
            test: Some(index),
            name: test.name.clone(),
            code: test_source(problem, index),
            outcome: test.outcome.describe(),
        })
    }

    /// The failure as prompt text.
    pub fn text(&self) -> String {
        let mut text = format!("test {}: {}", self.name, self.outcome);
        if let Some(code) = &self.code {
            for line in code.lines().filter(|l| !l.trim().is_empty()) {
                text.push_str("\n  ");
                text.push_str(line);
            }
        }
        text
    }
}

/// The source of test `index`: its statements, or the call it makes.
pub fn test_source(problem: &Problem, index: usize) -> Option<String> {
    match &problem.tests.get(index)?.kind {
        TestKind::Code { code } => Some(code.trim().to_string()),
        TestKind::Call { args, .. } => Some(match args {
            Args::Json(json) => {
                let values: Vec<serde_json::Value> = serde_json::from_str(json).ok()?;
                let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                format!("{}({})", problem.entry_point, values.join(", "))
            }
            Args::Python(source) => format!("{}({source})", problem.entry_point),
        }),
    }
}
