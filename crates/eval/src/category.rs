//! Why a sample failed, in one category: the way eval tables break failures down.

use std::fmt;

use tracealign_core::{Execution, ProgramStatus, TestOutcome};

/// A sample's outcome class. A program that does not compile is a syntax error; otherwise
/// the first test that did not pass decides (the same rule as `Execution::verdict`), so a
/// program that crashes on test 3 after a wrong answer on test 1 is a wrong answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Passed,
    SyntaxError,
    /// An exception escaped, by type (`IndexError`, `RecursionError`, ...).
    RuntimeError {
        exc_type: String,
    },
    WrongAnswer,
    Timeout,
    MemoryLimit,
    OutputLimit,
    /// Killed by a signal (a segfault, say).
    Killed,
}

impl Category {
    pub fn of(execution: &Execution) -> Category {
        if matches!(execution.status, ProgramStatus::SyntaxError { .. }) {
            return Category::SyntaxError;
        }
        let Some(first) = execution.tests.iter().find(|t| !t.outcome.is_passed()) else {
            return Category::Passed;
        };
        match &first.outcome {
            TestOutcome::Passed => Category::Passed,
            TestOutcome::Failed { .. } => Category::WrongAnswer,
            TestOutcome::Error { exc_type, .. } => Category::RuntimeError {
                exc_type: exc_type.clone(),
            },
            TestOutcome::Timeout { .. } => Category::Timeout,
            TestOutcome::MemoryLimit => Category::MemoryLimit,
            TestOutcome::OutputLimit => Category::OutputLimit,
            TestOutcome::Killed { .. } => Category::Killed,
        }
    }

    /// The class without the exception type: `runtime_error`, `wrong_answer`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Category::Passed => "passed",
            Category::SyntaxError => "syntax_error",
            Category::RuntimeError { .. } => "runtime_error",
            Category::WrongAnswer => "wrong_answer",
            Category::Timeout => "timeout",
            Category::MemoryLimit => "memory_limit",
            Category::OutputLimit => "output_limit",
            Category::Killed => "killed",
        }
    }
}

/// `runtime_error:IndexError`, or the kind alone.
impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Category::RuntimeError { exc_type } => write!(f, "runtime_error:{exc_type}"),
            other => f.write_str(other.kind()),
        }
    }
}
