//! Problems (a prompt, a reference solution, tests) and the tests themselves.

use crate::value::Value;

/// The language a program is written in. Only Python runs today; the field exists so that
/// problem files say it and a second backend has a place to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
}

/// One programming problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub id: String,
    pub language: Language,
    /// What a model sees.
    pub prompt: String,
    /// The function the tests call (also bound as `candidate` in test code).
    pub entry_point: String,
    /// A whole, correct program defining `entry_point`.
    pub reference: String,
    pub tests: Vec<TestCase>,
    /// Absolute tolerance for float results (EvalPlus's `atol`); 0 means the default 1e-6,
    /// used only when the expected value is made of floats.
    pub atol: f64,
}

/// One test of a problem.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// Unique within its problem.
    pub name: String,
    pub kind: TestKind,
}

/// What a test does.
#[derive(Debug, Clone, PartialEq)]
pub enum TestKind {
    /// Python statements, typically ending in an `assert`; `candidate` and the entry point's
    /// own name both refer to the function under test.
    Code { code: String },
    /// Call the entry point with `args` and compare the result with `expected`; without an
    /// expected value, the reference solution's result on the same arguments is expected
    /// (differential testing).
    Call { args: Args, expected: Option<Value> },
}

/// The arguments of a call test.
#[derive(Debug, Clone, PartialEq)]
pub enum Args {
    /// Arguments as a JSON array (`[[1, 2], "x"]`), read by Python's `json.loads`.
    Json(String),
    /// Arguments as Python source, as they would appear between the call's parentheses.
    Python(String),
}
