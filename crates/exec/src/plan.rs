//! Test plans: what the candidate's process runs for each test, and how its raw result is
//! judged here, outside that process.
//!
//! A test is *split*: the part that must run in the candidate's process (the call, or test
//! code we could not take apart) goes to the harness as [`PreparedTest::wire`]; the part
//! that decides the verdict (the expected value, the tolerance) stays in [`Check`] and
//! never reaches the candidate.
//!
//! Equality is Python's `==` between builtin values ([`Value::py_eq`]), exact unless the
//! problem's format defines a tolerance ([`PreparedProblem::atol`], EvalPlus's). Truthiness
//! (`assert f(x)`, `assert not f(x)`) is the one thing the candidate's process computes,
//! as `bool(result)`, because Python asks the object itself; it is sent as a boolean only.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use tracealign_core::{Args, TestCase, TestKind, TestOutcome, Value};

/// A problem ready to run samples against: tests split, expectations known, timeouts set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreparedProblem {
    pub id: String,
    pub entry_point: String,
    pub tests: Vec<PreparedTest>,
    /// EvalPlus's tolerance for [`Check::Equal`] (see `Problem::atol`); `None`: exact `==`.
    pub atol: Option<f64>,
    /// Wall-clock limit per test for samples, in seconds.
    pub timeouts: Vec<f64>,
    /// Wall-clock limit for all tests of one sample together, in seconds.
    pub budget_s: f64,
    /// The reference solution's time on each test (call and carrying its result out), in
    /// seconds; `None` where it did not finish. Untraced runs' timeouts are derived from these.
    pub reference_seconds: Vec<Option<f64>>,
    /// The same, the reference traced, by how it was traced
    /// ([`TraceLimits::timing_key`](crate::TraceLimits::timing_key)): traced runs' timeouts
    /// are derived from these. Filled by preparations that trace.
    #[serde(default)]
    pub traced_seconds: std::collections::BTreeMap<String, Vec<Option<f64>>>,
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
    /// Sent to the harness: `{"kind": "args"|"call"|"code", ...}`; a call whose truth is
    /// checked carries `"check": "truthy"|"falsy"`, so that the harness sends `bool(result)`.
    pub wire: Json,
    pub check: Check,
    /// The assertion's source, shown when the test fails.
    pub source: Option<String>,
}

/// How a test's raw result becomes a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Check {
    /// `result == expected` (with EvalPlus's tolerance where the problem has one).
    Equal(Value),
    /// `result != expected`.
    NotEqual(Value),
    /// `result is True/False/None`.
    Is(Value),
    /// `assert result`: `bool(result)`, as the candidate's process computed it.
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
    if matches!(check, Check::Truthy | Check::Falsy) {
        // Only the kind of check: the child computes `bool(result)` and learns nothing else.
        test.wire["check"] = plan["check"].clone();
    }
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

/// Judges one raw result from the harness; `atol` is the problem's EvalPlus tolerance.
pub fn judge(raw: &Json, test: &PreparedTest, timeout_s: f64, atol: Option<f64>) -> TestOutcome {
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
            if check_value(&test.check, &actual, raw["truth"].as_bool(), atol) {
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

/// Whether a result passes; `truth` is `bool(result)` as the candidate's process computed it
/// (sent for truthiness checks only).
fn check_value(check: &Check, actual: &Value, truth: Option<bool>, atol: Option<f64>) -> bool {
    let builtin = !matches!(actual, Value::Other { .. });
    // Without the process's answer, only a builtin value's own truth is known.
    let truth = || truth.or_else(|| actual.truthy());
    match check {
        Check::Equal(expected) => match atol {
            Some(atol) => actual.eval_plus_eq(expected, atol),
            None => actual.py_eq(expected),
        },
        Check::NotEqual(expected) => builtin && !actual.py_eq(expected),
        Check::Is(expected) => match (actual, expected) {
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::None, Value::None) => true,
            _ => false,
        },
        Check::Truthy => truth() == Some(true),
        Check::Falsy => truth() == Some(false),
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
            judge(&raw, &test, 1.0, None),
            TestOutcome::Failed { .. }
        ));
        let raw = json!({"r": "value", "v": 2});
        assert_eq!(judge(&raw, &test, 1.0, None), TestOutcome::Passed);
    }

    #[test]
    fn truthiness_of_foreign_objects_is_not_trusted() {
        let test = call_test(Check::Truthy);
        let raw = json!({"r": "value", "v": {"other": "AlwaysTrue", "repr": "<x>"}});
        assert!(matches!(
            judge(&raw, &test, 1.0, None),
            TestOutcome::Failed { .. }
        ));
    }

    /// `assert f(x)` where `f` returns an `re.Match`: the harness sends `bool(result)`,
    /// which decides; without it a foreign object's truth is unknown and fails.
    #[test]
    fn truthiness_comes_from_the_candidate_process_as_a_boolean() {
        let matched = json!({"other": "re.Match", "repr": "<re.Match object>"});
        let raw = |truth: Option<bool>| {
            let mut raw = json!({"r": "value", "v": matched});
            if let Some(truth) = truth {
                raw["truth"] = json!(truth);
            }
            raw
        };
        let truthy = call_test(Check::Truthy);
        let falsy = call_test(Check::Falsy);
        assert_eq!(
            judge(&raw(Some(true)), &truthy, 1.0, None),
            TestOutcome::Passed
        );
        assert_eq!(
            judge(&raw(Some(false)), &falsy, 1.0, None),
            TestOutcome::Passed
        );
        for (raw, test) in [
            (raw(Some(false)), &truthy),
            (raw(Some(true)), &falsy),
            (raw(None), &truthy),
        ] {
            assert!(matches!(
                judge(&raw, test, 1.0, None),
                TestOutcome::Failed { .. }
            ));
        }
        // A builtin value's truth is its own, even without the boolean.
        let empty = json!({"r": "value", "v": []});
        assert_eq!(judge(&empty, &falsy, 1.0, None), TestOutcome::Passed);
    }

    #[test]
    fn only_truthiness_checks_tell_the_harness_their_kind() {
        let mut test = call_test(Check::FromReference);
        let plan = |check: &str| {
            json!({"kind": "call", "setup": "", "call": "f(1)", "check": check,
                   "expected": 2, "source": "assert f(1) == 2"})
        };
        apply_analysis(&mut test, &plan("truthy"));
        assert_eq!(test.check, Check::Truthy);
        assert_eq!(
            test.wire,
            json!({"kind": "call", "setup": "", "call": "f(1)", "check": "truthy"})
        );
        apply_analysis(&mut test, &plan("eq"));
        assert_eq!(test.check, Check::Equal(Value::Int(2)));
        assert_eq!(
            test.wire,
            json!({"kind": "call", "setup": "", "call": "f(1)"})
        );
    }

    /// An `==` assert is exact; EvalPlus's tolerance applies only where the problem has one.
    #[test]
    fn equality_is_exact_unless_the_problem_has_a_tolerance() {
        let test = call_test(Check::Equal(Value::Float(0.3)));
        let raw = json!({"r": "value", "v": 0.3 + 1e-12});
        assert!(matches!(
            judge(&raw, &test, 1.0, None),
            TestOutcome::Failed { .. }
        ));
        assert_eq!(judge(&raw, &test, 1.0, Some(0.0)), TestOutcome::Passed);
        let far = json!({"r": "value", "v": 0.31});
        assert!(matches!(
            judge(&far, &test, 1.0, Some(0.0)),
            TestOutcome::Failed { .. }
        ));
        assert_eq!(judge(&far, &test, 1.0, Some(0.05)), TestOutcome::Passed);
    }

    #[test]
    fn dict_subclass_results_equal_plain_dicts_but_lying_ones_do_not() {
        let test = call_test(Check::Equal(Value::from_wire(&json!({"dict": [["a", 2]]}))));
        let counter = json!({"r": "value",
            "v": {"sub": "Counter", "eq": "counter", "of": {"dict": [["a", 2]]}}});
        assert_eq!(judge(&counter, &test, 1.0, None), TestOutcome::Passed);
        let liar = json!({"r": "value", "v": {"other": "D", "repr": "{'a': 2}"}});
        assert!(matches!(
            judge(&liar, &test, 1.0, None),
            TestOutcome::Failed { .. }
        ));
        let nan = call_test(Check::NotEqual(Value::from_wire(
            &json!([{"float": "nan"}]),
        )));
        let raw = json!({"r": "value", "v": [{"float": "nan"}]});
        assert_eq!(
            judge(&raw, &nan, 1.0, None),
            TestOutcome::Passed,
            "[nan] != [nan]"
        );
    }

    #[test]
    fn tolerance_checks_compare_numbers() {
        let test = call_test(Check::Close {
            expected: Value::Float(1.5),
            tolerance: 1e-6,
            inclusive: false,
        });
        assert_eq!(
            judge(&json!({"r": "value", "v": 1.5000001}), &test, 1.0, None),
            TestOutcome::Passed
        );
        assert!(matches!(
            judge(&json!({"r": "value", "v": 1.6}), &test, 1.0, None),
            TestOutcome::Failed { .. }
        ));
        assert!(matches!(
            judge(&json!({"r": "value", "v": "1.5"}), &test, 1.0, None),
            TestOutcome::Failed { .. }
        ));
    }

    #[test]
    fn raw_failures_map_to_outcomes() {
        let test = call_test(Check::Equal(Value::Int(2)));
        assert_eq!(
            judge(&json!({"r": "timeout"}), &test, 2.0, None),
            TestOutcome::Timeout { limit_s: 2.0 }
        );
        assert_eq!(
            judge(&json!({"r": "killed", "signal": 11}), &test, 2.0, None),
            TestOutcome::Killed { signal: 11 }
        );
        assert_eq!(
            judge(
                &json!({"r": "exc", "type": "MemoryError"}),
                &test,
                2.0,
                None
            ),
            TestOutcome::MemoryLimit
        );
        assert_eq!(
            judge(
                &json!({"r": "exc", "type": "IndexError", "msg": "out", "line": 3}),
                &test,
                2.0,
                None
            ),
            TestOutcome::Error {
                exc_type: "IndexError".into(),
                message: "out".into(),
                line: Some(3),
                at_load: false,
            }
        );
        assert!(matches!(
            judge(&json!({"r": "ok"}), &test, 2.0, None),
            TestOutcome::Error { .. }
        ));
    }
}
