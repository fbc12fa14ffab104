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
    /// EvalPlus's tolerance for results compared with an expected value (see
    /// `Value::eval_plus_eq`): `Some(atol)` where the problem's format defines one (EvalPlus
    /// always, 0 meaning its default of 1e-6 for float results; our own format when the file
    /// gives `atol`); `None` for exact Python `==`, as HumanEval's and MBPP's asserts say.
    pub atol: Option<f64>,
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
