//! Problem files: our own format, HumanEval, MBPP and EvalPlus, detected automatically.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value as Json;

use super::jsonl::{json_kind, parse_records, read_text, Record};
use super::python_tests::{split_check, split_mbpp_entry_point};
use crate::error::{Error, Result};
use crate::problem::{Args, Language, Problem, TestCase, TestKind};
use crate::value::Value;

/// The problem file formats tracealign reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemFormat {
    /// `{"id", "language", "prompt", "entry_point", "reference", "tests"}`.
    Tracealign,
    /// `task_id`, `prompt`, `canonical_solution`, `test` (a `check(candidate)` function).
    HumanEval,
    /// `task_id`, `text`, `code`, `test_list`, `test_setup_code`.
    Mbpp,
    /// HumanEval fields plus `base_input`, `plus_input` and `atol`.
    EvalPlus,
}

impl ProblemFormat {
    /// Tells the format from one record's keys.
    pub fn detect(record: &Record) -> Option<ProblemFormat> {
        if record.has("base_input") {
            Some(ProblemFormat::EvalPlus)
        } else if record.has("canonical_solution") && record.has("test") {
            Some(ProblemFormat::HumanEval)
        } else if record.has("test_list") {
            Some(ProblemFormat::Mbpp)
        } else if record.has("reference") && record.has("tests") {
            Some(ProblemFormat::Tracealign)
        } else {
            None
        }
    }
}

/// Reads problems from a file (`.jsonl` or `.jsonl.gz`); `format` overrides detection.
pub fn read_problems(path: &Path, format: Option<ProblemFormat>) -> Result<Vec<Problem>> {
    parse_problems(path, &read_text(path)?, format)
}

/// Parses problems from JSON Lines text; `origin` names it in errors.
pub fn parse_problems(
    origin: &Path,
    text: &str,
    format: Option<ProblemFormat>,
) -> Result<Vec<Problem>> {
    let records = parse_records(origin, text, "problem")?;
    let format = match format {
        Some(format) => format,
        None => ProblemFormat::detect(&records[0]).ok_or_else(|| Error::UnknownFormat {
            path: origin.to_path_buf(),
            line: records[0].line,
            keys: records[0].keys(),
            expected: "tracealign (reference, tests), HumanEval (canonical_solution, test), \
                       MBPP (test_list) or EvalPlus (base_input); or pass --format",
        })?,
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut problems = Vec::with_capacity(records.len());
    for record in &records {
        let problem = match format {
            ProblemFormat::Tracealign => read_ours(record)?,
            ProblemFormat::HumanEval => read_human_eval(record)?,
            ProblemFormat::Mbpp => read_mbpp(record)?,
            ProblemFormat::EvalPlus => read_eval_plus(record)?,
        };
        if let Some(first_line) = seen.insert(problem.id.clone(), record.line) {
            return Err(Error::Duplicate {
                path: origin.to_path_buf(),
                line: record.line,
                what: "problem",
                id: problem.id,
                first_line,
            });
        }
        problems.push(problem);
    }
    Ok(problems)
}

fn read_ours(record: &Record) -> Result<Problem> {
    let language = match record.optional_string("language")?.as_deref() {
        None | Some("python") => Language::Python,
        Some(other) => {
            return Err(record.error(format!(
                "field `language`: `{other}` is not supported yet (expected \"python\")"
            )))
        }
    };
    let mut tests = Vec::new();
    for (index, test) in record.array("tests")?.iter().enumerate() {
        tests.push(read_our_test(record, index, test)?);
    }
    if tests.is_empty() {
        return Err(record.error("field `tests` is empty; a problem needs at least one test"));
    }
    let mut names = HashMap::new();
    for test in &tests {
        if names.insert(test.name.as_str(), ()).is_some() {
            return Err(record.error(format!("duplicate test name `{}`", test.name)));
        }
    }
    Ok(Problem {
        id: record.id("id")?,
        language,
        prompt: record.string("prompt")?,
        entry_point: record.string("entry_point")?,
        reference: record.string("reference")?,
        tests,
        atol: optional_number(record, "atol")?,
    })
}

fn read_our_test(record: &Record, index: usize, test: &Json) -> Result<TestCase> {
    let field = |name: &str| format!("tests[{index}].{name}");
    let Json::Object(fields) = test else {
        return Err(record.error(format!(
            "tests[{index}] must be an object, found {}",
            json_kind(test)
        )));
    };
    let name = match fields.get("name") {
        Some(Json::String(name)) => name.clone(),
        None => format!("test_{}", index + 1),
        Some(other) => {
            return Err(record.error(format!(
                "{} must be a string, found {}",
                field("name"),
                json_kind(other)
            )))
        }
    };
    let kind = match (fields.get("code"), fields.get("input")) {
        (Some(Json::String(code)), None) => TestKind::Code { code: code.clone() },
        (None, Some(input)) => {
            let args = match input {
                Json::Array(_) => Args::Json(input.to_string()),
                Json::String(source) => Args::Python(source.clone()),
                other => {
                    return Err(record.error(format!(
                        "{} must be an array of arguments or a string of Python arguments, found {}",
                        field("input"),
                        json_kind(other)
                    )))
                }
            };
            TestKind::Call { args, expected: fields.get("expected").map(Value::from_plain_json) }
        }
        (Some(Json::String(_)), Some(_)) => {
            return Err(record.error(format!("tests[{index}] has both `code` and `input`; give one")))
        }
        (Some(other), _) => {
            return Err(record.error(format!("{} must be a string, found {}", field("code"), json_kind(other))))
        }
        (None, None) => {
            return Err(record.error(format!(
                "tests[{index}] needs `code` (statements) or `input` (arguments, with optional `expected`)"
            )))
        }
    };
    Ok(TestCase { name, kind })
}

fn optional_number(record: &Record, field: &str) -> Result<f64> {
    match record.fields.get(field) {
        None | Some(Json::Null) => Ok(0.0),
        Some(Json::Number(n)) => Ok(n.as_f64().unwrap_or(0.0)),
        Some(other) => Err(record.error(format!(
            "field `{field}` must be a number, found {}",
            json_kind(other)
        ))),
    }
}

fn read_human_eval(record: &Record) -> Result<Problem> {
    let prompt = record.string("prompt")?;
    let test = record.string("test")?;
    let tests = split_check(&test)
        .map_err(|message| record.error(format!("field `test`: {message}")))?
        .into_iter()
        .map(|(name, code)| TestCase {
            name,
            kind: TestKind::Code { code },
        })
        .collect();
    Ok(Problem {
        id: record.id("task_id")?,
        language: Language::Python,
        reference: format!("{prompt}{}", record.string("canonical_solution")?),
        prompt,
        entry_point: record.string("entry_point")?,
        tests,
        atol: 0.0,
    })
}

fn read_eval_plus(record: &Record) -> Result<Problem> {
    let prompt = record.string("prompt")?;
    let mut tests = Vec::new();
    for field in ["base_input", "plus_input"] {
        let inputs = match record.fields.get(field) {
            None | Some(Json::Null) if field == "plus_input" => continue,
            _ => record.array(field)?,
        };
        let prefix = field.trim_end_matches("_input");
        for (index, input) in inputs.iter().enumerate() {
            if !input.is_array() {
                return Err(record.error(format!(
                    "{field}[{index}] must be an array of arguments, found {}",
                    json_kind(input)
                )));
            }
            tests.push(TestCase {
                name: format!("{prefix}_{index}"),
                kind: TestKind::Call {
                    args: Args::Json(input.to_string()),
                    expected: None,
                },
            });
        }
    }
    Ok(Problem {
        id: record.id("task_id")?,
        language: Language::Python,
        reference: format!("{prompt}{}", record.string("canonical_solution")?),
        prompt,
        entry_point: record.string("entry_point")?,
        tests,
        atol: optional_number(record, "atol")?,
    })
}

fn read_mbpp(record: &Record) -> Result<Problem> {
    let code = record.string("code")?.replace("\r\n", "\n");
    let setup = record
        .optional_string("test_setup_code")?
        .unwrap_or_default()
        .replace("\r\n", "\n");
    let mut asserts = Vec::new();
    for (index, test) in record.array("test_list")?.iter().enumerate() {
        match test {
            Json::String(test) => asserts.push(test.replace("\r\n", "\n")),
            other => {
                return Err(record.error(format!(
                    "test_list[{index}] must be a string, found {}",
                    json_kind(other)
                )))
            }
        }
    }
    let entry_point = split_mbpp_entry_point(&code, &asserts).ok_or_else(|| {
        record.error(
            "cannot find the entry point: no function defined in `code` is called in `test_list`",
        )
    })?;
    let text = record.string("text")?;
    let prompt = format!(
        "\"\"\"\n{text}\n{}\n\"\"\"\n",
        asserts.first().map_or("", String::as_str)
    );
    let tests = asserts
        .iter()
        .enumerate()
        .map(|(index, assert)| TestCase {
            name: format!("test_{}", index + 1),
            kind: TestKind::Code {
                code: if setup.trim().is_empty() {
                    assert.clone()
                } else {
                    format!("{setup}\n{assert}")
                },
            },
        })
        .collect();
    Ok(Problem {
        id: format!("Mbpp/{}", record.id("task_id")?),
        language: Language::Python,
        prompt,
        entry_point,
        reference: code,
        tests,
        atol: 0.0,
    })
}
