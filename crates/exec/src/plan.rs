//! Test plans: what the candidate's process runs for each test, and how its raw result is
//! judged here, outside that process.
//!
//! A test is *split*: the part that must run in the candidate's process (the call, or test
//! code we could not take apart) goes to the harness as [`PreparedTest::wire`]; the part
//! that decides the verdict (the expected value, the tolerance) stays in [`Check`] and
//! never reaches the candidate.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use tracealign_core::{Args, TestCase, TestKind, TestOutcome, Value};

/// A problem ready to run samples against: tests split, expectations known, timeouts set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreparedProblem {
    pub id: String,
    pub entry_point: String,
    pub tests: Vec<PreparedTest>,
    pub atol: f64,
    /// Wall-clock limit per test for samples, in seconds.
    pub timeouts: Vec<f64>,
    /// Wall-clock limit for all tests of one sample together, in seconds.
    pub budget_s: f64,
    /// The reference solution's time on each test (call and carrying its result out), in
    /// seconds; `None` where it did not finish. Timeouts are derived from these.
    pub reference_seconds: Vec<Option<f64>>,
}

impl PreparedProblem {
    /// How long the reference took on all tests (a test it did not finish counts as its
    /// time limit): the expected cost of running a sample.
    pub fn expected_seconds(&self) -> f64 {
        self.reference_seconds
            .iter()
            .zip(&self.timeouts)
            .map(|(s, t)| s.unwrap_or(*t))
            .sum()
    }
}

/// One test, split into what runs in the candidate's process and what judges it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreparedTest {
    pub name: String,
    /// Sent to the harness: `{"kind": "args"|"call"|"code", ...}`.
    pub wire: Json,
    pub check: Check,
    /// The assertion's source, shown when the test fails.
    pub source: Option<String>,
}

/// How a test's raw result becomes a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Check {
    /// `result == expected` (EvalPlus float tolerance applies).
    Equal(Value),
    /// `result != expected`.
    NotEqual(Value),
    /// `result is True/False/None`.
    Is(Value),
    /// `assert result`.
    Truthy,
    /// `assert not result`.
    Falsy,
    /// `abs(result - expected) < tolerance` (or `<=` when `inclusive`).
    Close {
        expected: Value,
        tolerance: f64,
        inclusive: bool,
    },
    /// The expected behaviour is raising this exception type (what the reference did).
    Raises(String),
    /// Test code that had to run inside the candidate's process; it passes if it raises
    /// nothing.
    Statements,
    /// The reference's result decides; set once the reference has run.
    FromReference,
    /// The reference itself could not produce a result (it hung or crashed).
    Broken(String),
}

/// The wire form and check of a test before analysis and reference runs.
pub fn initial_plan(test: &TestCase) -> PreparedTest {
    let (wire, check) = match &test.kind {
        TestKind::Code { code } => (json!({"kind": "code", "code": code}), Check::Statements),
        TestKind::Call { args, expected } => {
            let wire = match args {
                Args::Json(text) => json!({"kind": "args", "args": text}),
                Args::Python(source) => {
                    json!({"kind": "call", "setup": "", "call": format!("candidate({source})")})
                }
            };
            (
                wire,
                expected.clone().map_or(Check::FromReference, Check::Equal),
            )
        }
    };
    PreparedTest {
        name: test.name.clone(),
        wire,
        check,
        source: None,
    }
}

/// Applies the harness's analysis of a code test (`{"kind": "call", ...}` when the assert
/// could be taken apart).
pub fn apply_analysis(test: &mut PreparedTest, plan: &Json) {
    if plan["kind"] != "call" {
        return;
    }
    let expected = || Value::from_wire(&plan["expected"]);
    let check = match plan["check"].as_str() {
        Some("eq") => Check::Equal(expected()),
        Some("ne") => Check::NotEqual(expected()),
        Some("is") => Check::Is(expected()),
        Some("truthy") => Check::Truthy,
        Some("falsy") => Check::Falsy,
        Some(op @ ("lt" | "le")) => Check::Close {
            expected: expected(),
            tolerance: plan["tolerance"].as_f64().unwrap_or(0.0),
            inclusive: op == "le",
        },
        _ => return,
    };
    test.wire = json!({"kind": "call", "setup": plan["setup"], "call": plan["call"]});
    test.check = check;
    test.source = plan["source"].as_str().map(String::from);
}

/// Fixes a reference-decided test from the reference's raw result.
pub fn apply_reference(test: &mut PreparedTest, raw: &Json) {
    if test.check != Check::FromReference {
        return;
    }
    test.check = match raw["r"].as_str() {
        Some("value") => Check::Equal(Value::from_wire(&raw["v"])),
        Some("exc") => Check::Raises(raw["type"].as_str().unwrap_or("Exception").to_string()),
        other => Check::Broken(format!(
            "the reference solution did not finish this test ({})",
            other.unwrap_or("no result")
        )),
    };
}

/// Judges one raw result from the harness.
pub fn judge(raw: &Json, test: &PreparedTest, timeout_s: f64, atol: f64) -> TestOutcome {
    let failed = |expected: Option<String>, actual: Option<String>| TestOutcome::Failed {
        assertion: test.source.clone(),
        expected,
        actual,
    };
    if raw["output_limit"] == true {
        return TestOutcome::OutputLimit;
    }
    match raw["r"].as_str() {
        Some("value") => {
            let actual = Value::from_wire(&raw["v"]);
            if check_value(&test.check, &actual, atol) {
                TestOutcome::Passed
            } else if let Check::Broken(reason) = &test.check {
                error("InvalidTest", reason, None)
            } else {
                failed(expected_text(&test.check), Some(actual.py_repr(REPR_LIMIT)))
            }
        }
        Some("ok") if test.check == Check::Statements => TestOutcome::Passed,
        Some("exc") => judge_exception(raw, test),
        Some("timeout") => TestOutcome::Timeout { limit_s: timeout_s },
        Some("killed") => match raw["signal"].as_i64() {
            Some(sig) if sig == libc::SIGXCPU as i64 => TestOutcome::Timeout { limit_s: timeout_s },
            Some(sig) => TestOutcome::Killed { signal: sig as i32 },
            None => TestOutcome::Killed { signal: 0 },
        },
        Some("exited") => error(
            "SystemExit",
            &format!(
                "the program exited with status {} before the test finished",
                raw["code"]
            ),
            None,
        ),
        Some("tampered") => error(
            "HarnessTampering",
            "something other than the harness wrote to its result channel",
            None,
        ),
        _ => error(
            "HarnessError",
            &format!("no usable result for this test: {raw}"),
            None,
        ),
    }
}

const REPR_LIMIT: usize = 300;

fn judge_exception(raw: &Json, test: &PreparedTest) -> TestOutcome {
    let exc_type = raw["type"].as_str().unwrap_or("Exception");
    let message = raw["msg"].as_str().unwrap_or_default();
    if exc_type == "MemoryError" {
        return TestOutcome::MemoryLimit;
    }
    if let Some(assertion) = raw.get("assert") {
        // An assert in the test's own code failed: a wrong answer.
        return TestOutcome::Failed {
            assertion: assertion
                .as_str()
                .map(String::from)
                .or_else(|| test.source.clone()),
            expected: None,
            actual: (!message.is_empty()).then(|| message.to_string()),
        };
    }
    // An exception while the program loaded is not the one a test expects of its call.
    let at_load = raw["phase"] == "load";
    if test.check == Check::Raises(exc_type.to_string()) && !at_load {
        return TestOutcome::Passed;
    }
    TestOutcome::Error {
        exc_type: exc_type.into(),
        message: message.into(),
        line: raw["line"].as_u64().map(|l| l as u32),
        at_load,
    }
}

fn error(exc_type: &str, message: &str, line: Option<u32>) -> TestOutcome {
    TestOutcome::Error {
        exc_type: exc_type.into(),
        message: message.into(),
        line,
        at_load: false,
    }
}

fn check_value(check: &Check, actual: &Value, atol: f64) -> bool {
    let builtin = !matches!(actual, Value::Other { .. });
    match check {
        Check::Equal(expected) => actual.matches(expected, atol),
        Check::NotEqual(expected) => builtin && !actual.py_eq(expected),
        Check::Is(expected) => match (actual, expected) {
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::None, Value::None) => true,
            _ => false,
        },
        Check::Truthy => actual.truthy() == Some(true),
        Check::Falsy => actual.truthy() == Some(false),
        Check::Close {
            expected,
            tolerance,
            inclusive,
        } => match (actual.as_number(), expected.as_number()) {
            (Some(a), Some(e)) => {
                let distance = (a.as_f64() - e.as_f64()).abs();
                if *inclusive {
                    distance <= *tolerance
                } else {
                    distance < *tolerance
                }
            }
            _ => false,
        },
        Check::Raises(_) | Check::Statements | Check::FromReference | Check::Broken(_) => false,
    }
}

fn expected_text(check: &Check) -> Option<String> {
    Some(match check {
        Check::Equal(v) | Check::Is(v) => v.py_repr(REPR_LIMIT),
        Check::NotEqual(v) => format!("anything but {}", v.py_repr(REPR_LIMIT)),
        Check::Truthy => "a true value".into(),
        Check::Falsy => "a false value".into(),
        Check::Close {
            expected,
            tolerance,
            ..
        } => {
            format!("{} ± {tolerance}", expected.py_repr(REPR_LIMIT))
        }
        Check::Raises(t) => format!("raises {t}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_test(check: Check) -> PreparedTest {
        PreparedTest {
            name: "t".into(),
            wire: json!({}),
            check,
            source: Some("assert f(1) == 2".into()),
        }
    }

    #[test]
    fn lying_objects_fail_equality_checks() {
        let test = call_test(Check::Equal(Value::Int(2)));
        let raw = json!({"r": "value", "v": {"other": "AlwaysEqual", "repr": "<x>"}});
        assert!(matches!(
            judge(&raw, &test, 1.0, 0.0),
            TestOutcome::Failed { .. }
        ));
        let raw = json!({"r": "value", "v": 2});
        assert_eq!(judge(&raw, &test, 1.0, 0.0), TestOutcome::Passed);
    }

    #[test]
    fn truthiness_of_foreign_objects_is_not_trusted() {
        let test = call_test(Check::Truthy);
        let raw = json!({"r": "value", "v": {"other": "AlwaysTrue", "repr": "<x>"}});
        assert!(matches!(
            judge(&raw, &test, 1.0, 0.0),
            TestOutcome::Failed { .. }
        ));
    }

    #[test]
    fn tolerance_checks_compare_numbers() {
        let test = call_test(Check::Close {
            expected: Value::Float(1.5),
            tolerance: 1e-6,
            inclusive: false,
        });
        assert_eq!(
            judge(&json!({"r": "value", "v": 1.5000001}), &test, 1.0, 0.0),
            TestOutcome::Passed
        );
        assert!(matches!(
            judge(&json!({"r": "value", "v": 1.6}), &test, 1.0, 0.0),
            TestOutcome::Failed { .. }
        ));
        assert!(matches!(
            judge(&json!({"r": "value", "v": "1.5"}), &test, 1.0, 0.0),
            TestOutcome::Failed { .. }
        ));
    }

    #[test]
    fn raw_failures_map_to_outcomes() {
        let test = call_test(Check::Equal(Value::Int(2)));
        assert_eq!(
            judge(&json!({"r": "timeout"}), &test, 2.0, 0.0),
            TestOutcome::Timeout { limit_s: 2.0 }
        );
        assert_eq!(
            judge(&json!({"r": "killed", "signal": 11}), &test, 2.0, 0.0),
            TestOutcome::Killed { signal: 11 }
        );
        assert_eq!(
            judge(&json!({"r": "exc", "type": "MemoryError"}), &test, 2.0, 0.0),
            TestOutcome::MemoryLimit
        );
        assert_eq!(
            judge(
                &json!({"r": "exc", "type": "IndexError", "msg": "out", "line": 3}),
                &test,
                2.0,
                0.0
            ),
            TestOutcome::Error {
                exc_type: "IndexError".into(),
                message: "out".into(),
                line: Some(3),
                at_load: false,
            }
        );
        assert!(matches!(
            judge(&json!({"r": "ok"}), &test, 2.0, 0.0),
            TestOutcome::Error { .. }
        ));
    }
}
