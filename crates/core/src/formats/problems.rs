//! Problem files: our own format, HumanEval, MBPP (original and sanitized) and EvalPlus,
//! detected automatically from a record's keys.
//!
//! A file is JSON Lines (one record per line) or, when its first character is `[`, one JSON
//! array of records (as the sanitized MBPP release ships); either may be gzipped. Errors name
//! the file and the line where the offending record starts.
//!
//! MBPP problems are named `Mbpp/N`; [`ProblemIndex`] also finds them as `MBPP/N` and `N`,
//! the names other tools give them.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value as Json;

use super::jsonl::{json_kind, parse_records, read_text, Record};
use super::python_tests::{split_check, split_mbpp_entry_point};
use crate::error::{Error, Result};
use crate::problem::{Args, Language, Problem, TestCase, TestKind};
use crate::value::Value;

/// The problem file formats tracealign reads, named in configs as `tracealign`, `humaneval`,
/// `mbpp` and `evalplus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemFormat {
    /// `{"id", "language", "prompt", "entry_point", "reference", "tests"}`.
    Tracealign,
    /// `task_id`, `prompt`, `canonical_solution`, `test` (a `check(candidate)` function).
    HumanEval,
    /// `task_id`, `text`, `code`, `test_list`, `test_setup_code`; or the sanitized release's
    /// `task_id`, `prompt`, `code`, `test_imports`, `test_list`.
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

/// Reads problems from a file (JSON Lines or a JSON array, gzipped or not); `format`
/// overrides detection.
pub fn read_problems(path: &Path, format: Option<ProblemFormat>) -> Result<Vec<Problem>> {
    parse_problems(path, &read_text(path)?, format)
}

/// Parses problems from JSON Lines or JSON array text; `origin` names it in errors.
pub fn parse_problems(
    origin: &Path,
    text: &str,
    format: Option<ProblemFormat>,
) -> Result<Vec<Problem>> {
    let records = if text.trim_start().starts_with('[') {
        parse_array_records(origin, text, "problem")?
    } else {
        parse_records(origin, text, "problem")?
    };
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

/// Parses a JSON array of objects into records, each numbered by the line it starts on.
fn parse_array_records(path: &Path, text: &str, what: &'static str) -> Result<Vec<Record>> {
    let malformed = |line: usize, message: String| Error::Json {
        path: path.to_path_buf(),
        line,
        message,
    };
    // The whole document first, so that a syntax error is reported at its own line.
    let elements: Vec<Json> =
        serde_json::from_str(text).map_err(|e| malformed(e.line(), e.to_string()))?;
    if elements.is_empty() {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what,
        });
    }
    // Then where each element starts: skip whitespace, one value, whitespace and a comma.
    let skip_space = |at: usize| {
        let rest = &text[at..];
        at + rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len()
    };
    let mut at = skip_space(0) + 1; // past `[`
    let (mut line, mut counted) = (1, 0);
    let mut records = Vec::with_capacity(elements.len());
    for element in elements {
        at = skip_space(at);
        line += text[counted..at].matches('\n').count();
        counted = at;
        let mut values =
            serde_json::Deserializer::from_str(&text[at..]).into_iter::<serde::de::IgnoredAny>();
        match values.next() {
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                return Err(malformed(line + e.line().saturating_sub(1), e.to_string()))
            }
            None => return Err(malformed(line, "expected a value".to_string())),
        }
        at = skip_space(at + values.byte_offset());
        if text[at..].starts_with(',') {
            at += 1;
        }
        let Json::Object(fields) = element else {
            return Err(Error::Record {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "expected a JSON object (one {what} per array element), found {}",
                    json_kind(&element)
                ),
            });
        };
        records.push(Record {
            path: path.to_path_buf(),
            line,
            fields,
        });
    }
    Ok(records)
}

/// Problems by id, for finding the problem a sample names.
///
/// An exact id wins. Failing that, an MBPP problem (`Mbpp/N`, however the prefix is
/// capitalised) is also found as `MBPP/N`, `mbpp/N` or the bare number `N`: Google's file
/// numbers its tasks, we name them `Mbpp/N` as EvalPlus does, and sample files (LDB's, for
/// one) use each of these conventions.
pub struct ProblemIndex<'a> {
    by_id: HashMap<&'a str, &'a Problem>,
    mbpp: HashMap<u64, &'a Problem>,
}

impl<'a> ProblemIndex<'a> {
    /// Indexes `problems`; when two share an alias, the first one has it.
    pub fn new(problems: &'a [Problem]) -> ProblemIndex<'a> {
        let mut mbpp = HashMap::new();
        for problem in problems {
            if let Some(number) = mbpp_number(&problem.id) {
                mbpp.entry(number).or_insert(problem);
            }
        }
        ProblemIndex {
            by_id: problems.iter().map(|p| (p.id.as_str(), p)).collect(),
            mbpp,
        }
    }

    /// The problem named `id`, exactly or by an MBPP alias.
    pub fn get(&self, id: &str) -> Option<&'a Problem> {
        if let Some(problem) = self.by_id.get(id) {
            return Some(problem);
        }
        let number = match mbpp_number(id) {
            Some(number) => number,
            None if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => id.parse().ok()?,
            None => return None,
        };
        self.mbpp.get(&number).copied()
    }
}

/// `N` of an id `Mbpp/N`, with the prefix in any capitalisation.
fn mbpp_number(id: &str) -> Option<u64> {
    let (prefix, number) = id.split_once('/')?;
    if !prefix.eq_ignore_ascii_case("mbpp") || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok()
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

fn optional_number(record: &Record, field: &str) -> Result<Option<f64>> {
    match record.fields.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(record.error(format!(
            "field `{field}` must be a number, found {}",
            json_kind(other)
        ))),
    }
}

fn read_human_eval(record: &Record) -> Result<Problem> {
    let prompt = record.string("prompt")?;
    let entry_point = record.string("entry_point")?;
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
        reference: human_eval_reference(
            &prompt,
            &record.string("canonical_solution")?,
            &entry_point,
        ),
        prompt,
        entry_point,
        tests,
        atol: None,
    })
}

/// The reference program of a HumanEval record.
///
/// `canonical_solution` is normally the body that completes the prompt, and the reference is
/// the two joined. Some files (MBPP in HumanEval's layout, often) give the whole function
/// instead; joined to a prompt that opens the function, it would be defined twice. So when
/// `canonical_solution` defines the entry point at its top level, it is the reference,
/// preceded by the prompt's top-level imports that it lacks; the rest of the prompt (the
/// signature, the docstring, any helper it defines) is left out.
fn human_eval_reference(prompt: &str, solution: &str, entry_point: &str) -> String {
    if !defines_at_top_level(solution, entry_point) {
        return format!("{prompt}{solution}");
    }
    let has_line = |line: &str| solution.lines().any(|l| l.trim_end() == line.trim_end());
    let mut reference = String::new();
    let mut lines = prompt.lines();
    while let Some(line) = lines.next() {
        if !is_import(line) {
            continue;
        }
        let mut statement = line.to_string();
        // Parenthesised or backslash-continued imports run on to later lines.
        let mut open = (line.contains('(') && !line.contains(')')) || line.ends_with('\\');
        while open {
            let Some(next) = lines.next() else { break };
            statement.push('\n');
            statement.push_str(next);
            open = if line.contains('(') {
                !next.contains(')')
            } else {
                next.ends_with('\\')
            };
        }
        if !has_line(line) {
            reference.push_str(&statement);
            reference.push('\n');
        }
    }
    reference.push_str(solution);
    reference
}

/// Whether `code` defines the function `name` at its top level: the parser finds the
/// definition (so a comment or a string saying `def name(` does not count), and it starts at
/// the first column (a body, indented, may define a nested function of the same name, and
/// parsed on its own that indentation is lost).
fn defines_at_top_level(code: &str, name: &str) -> bool {
    // The MBPP entry-point finder returns the top-level definition that a call names.
    let parsed = split_mbpp_entry_point(code, &[format!("{name}()")]).as_deref() == Some(name);
    let at_column_zero = code.lines().any(|line| {
        let line = line.strip_prefix("async ").unwrap_or(line);
        line.strip_prefix("def ")
            .and_then(|rest| rest.trim_start().strip_prefix(name))
            .is_some_and(|rest| rest.trim_start().starts_with('('))
    });
    parsed && at_column_zero
}

/// A top-level `import a.b, c` or `from a.b import ...` line.
fn is_import(line: &str) -> bool {
    let is_name = |word: &str| {
        !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    };
    if let Some(rest) = line.strip_prefix("from ") {
        rest.split_once(" import ")
            .is_some_and(|(module, _)| is_name(module.trim()))
    } else if let Some(rest) = line.strip_prefix("import ") {
        rest.split(',').all(|part| {
            let mut words = part.split_whitespace();
            match (words.next(), words.next(), words.next(), words.next()) {
                (Some(module), None, None, None) => is_name(module),
                (Some(module), Some("as"), Some(alias), None) => is_name(module) && is_name(alias),
                _ => false,
            }
        })
    } else {
        false
    }
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
        // EvalPlus compares with a tolerance; 0 (or none given) means its default.
        atol: Some(optional_number(record, "atol")?.unwrap_or(0.0)),
    })
}

/// An MBPP record, original (`text`, `test_setup_code`) or sanitized (`prompt`,
/// `test_imports`). Each test runs the imports, then the setup code, then one assert.
fn read_mbpp(record: &Record) -> Result<Problem> {
    let code = record.string("code")?.replace("\r\n", "\n");
    let mut setup = match record.fields.get("test_imports") {
        None | Some(Json::Null) => Vec::new(),
        Some(_) => strings(record, "test_imports")?,
    };
    if let Some(code) = record.optional_string("test_setup_code")? {
        setup.push(code.replace("\r\n", "\n"));
    }
    let setup = setup.join("\n");
    let asserts = strings(record, "test_list")?;
    let entry_point = split_mbpp_entry_point(&code, &asserts).ok_or_else(|| {
        record.error(
            "cannot find the entry point: no function defined in `code` is called in `test_list`",
        )
    })?;
    let text =
        match (record.has("text"), record.has("prompt")) {
            (true, _) => record.string("text")?,
            (false, true) => record.string("prompt")?,
            (false, false) => return Err(record.error(
                "missing field `text` (MBPP) or `prompt` (sanitized MBPP): the task's description",
            )),
        };
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
    let task_id = record.id("task_id")?;
    Ok(Problem {
        id: match mbpp_number(&task_id) {
            Some(number) => format!("Mbpp/{number}"),
            None => format!("Mbpp/{task_id}"),
        },
        language: Language::Python,
        prompt,
        entry_point,
        reference: code,
        tests,
        atol: None,
    })
}

/// A required array of strings, with Windows line ends made Unix ones.
fn strings(record: &Record, field: &str) -> Result<Vec<String>> {
    let mut strings = Vec::new();
    for (index, item) in record.array(field)?.iter().enumerate() {
        match item {
            Json::String(item) => strings.push(item.replace("\r\n", "\n")),
            other => {
                return Err(record.error(format!(
                    "{field}[{index}] must be a string, found {}",
                    json_kind(other)
                )))
            }
        }
    }
    Ok(strings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Problem>> {
        parse_problems(Path::new("p.json"), text, None)
    }

    fn code_tests(problem: &Problem) -> Vec<&str> {
        problem
            .tests
            .iter()
            .map(|t| match &t.kind {
                TestKind::Code { code } => code.as_str(),
                TestKind::Call { .. } => panic!("a call test"),
            })
            .collect()
    }

    const SANITIZED: &str = r#"[
    {
        "source_file": "Benchmark Questions Verification V2.ipynb",
        "task_id": 2,
        "prompt": "Write a function to find the shared elements of two lists.",
        "code": "def shared(a, b):\n    return set(a) & set(b)",
        "test_imports": [],
        "test_list": ["assert shared([1, 2], [2, 3]) == {2}"]
    },
    {
        "source_file": "Mbpp/3",
        "task_id": 3,
        "prompt": "Write a function to find the square root.",
        "code": "import math\ndef root(x):\n    return math.sqrt(x)",
        "test_imports": ["import math"],
        "test_list": ["assert math.isclose(root(4), 2)", "assert math.isclose(root(9), 3)"]
    }
]
"#;

    #[test]
    fn sanitized_mbpp_reads_as_a_json_array() {
        let problems = parse(SANITIZED).unwrap();
        let ids: Vec<_> = problems.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["Mbpp/2", "Mbpp/3"]);
        assert_eq!(problems[1].entry_point, "root");
        assert!(problems[1]
            .prompt
            .contains("Write a function to find the square root."));
        assert_eq!(
            code_tests(&problems[1]),
            [
                "import math\nassert math.isclose(root(4), 2)",
                "import math\nassert math.isclose(root(9), 3)"
            ]
        );
        assert_eq!(
            code_tests(&problems[0]),
            ["assert shared([1, 2], [2, 3]) == {2}"]
        );
    }

    #[test]
    fn sanitized_mbpp_reads_as_json_lines_too() {
        let array: Vec<Json> = serde_json::from_str(SANITIZED).unwrap();
        let lines: String = array.iter().map(|r| format!("{r}\n")).collect();
        assert_eq!(parse(&lines).unwrap(), parse(SANITIZED).unwrap());
    }

    #[test]
    fn original_mbpp_runs_setup_code_before_each_assert() {
        let line = r#"{"task_id": "MBPP/7", "text": "Scale.", "code": "def f(x):\r\n    return K * x", "test_setup_code": "K = 2", "test_list": ["assert f(1) == 2"]}"#;
        let problem = &parse(line).unwrap()[0];
        assert_eq!(problem.id, "Mbpp/7", "a prefixed id is not prefixed again");
        assert_eq!(problem.reference, "def f(x):\n    return K * x");
        assert_eq!(code_tests(problem), ["K = 2\nassert f(1) == 2"]);
    }

    #[test]
    fn array_errors_name_the_line_where_the_record_starts() {
        let bad_imports = SANITIZED.replace(
            r#""test_imports": ["import math"]"#,
            r#""test_imports": "import math""#,
        );
        let message = parse(&bad_imports).unwrap_err().to_string();
        assert_eq!(
            message,
            "p.json:10: field `test_imports` must be an array, found a string"
        );
        let bad_item = SANITIZED.replace(r#"["import math"]"#, "[7]");
        let message = parse(&bad_item).unwrap_err().to_string();
        assert!(
            message.starts_with("p.json:10: test_imports[0] must be a string, found a number"),
            "{message}"
        );
        let no_text = SANITIZED.replace(
            r#""prompt": "Write a function to find the square"#,
            r#""what": "Write a function to find the square"#,
        );
        let message = parse(&no_text).unwrap_err().to_string();
        assert!(
            message.starts_with("p.json:10: missing field `text` (MBPP) or `prompt`"),
            "{message}"
        );

        let message = parse("[\n  {\"task_id\": 1}\n]").unwrap_err().to_string();
        assert!(message.starts_with("p.json:2: "), "{message}");
        let records =
            parse_array_records(Path::new("p.json"), "[\n  {\"a\": 1},\n  7\n]", "problem");
        let message = records.err().unwrap().to_string();
        assert_eq!(
            message,
            "p.json:3: expected a JSON object (one problem per array element), found a number"
        );
        let message = parse("[\n  {\"a\": 1},\n  {\"a\": \n]")
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("p.json:4: malformed JSON"), "{message}");
        let message = parse("  [ ]\n").unwrap_err().to_string();
        assert!(
            message.starts_with("p.json: the file is empty"),
            "{message}"
        );
    }

    #[test]
    fn mbpp_problems_are_found_by_their_aliases() {
        let mut problems = parse(SANITIZED).unwrap();
        let mut other = problems[0].clone();
        other.id = "HumanEval/5".to_string();
        problems.push(other);
        let index = ProblemIndex::new(&problems);
        let found = |id: &str| index.get(id).map(|p| p.id.as_str());
        for alias in ["Mbpp/2", "MBPP/2", "mbpp/2", "2", "02"] {
            assert_eq!(found(alias), Some("Mbpp/2"), "{alias}");
        }
        assert_eq!(found("3"), Some("Mbpp/3"));
        assert_eq!(found("4"), None);
        assert_eq!(found("5"), None, "only MBPP problems have number aliases");
        assert_eq!(found("HumanEval/5"), Some("HumanEval/5"));
        assert_eq!(found("MBPP/x"), None);
        assert_eq!(found(""), None);
    }

    #[test]
    fn an_exact_id_wins_over_an_alias() {
        let mut problems = parse(SANITIZED).unwrap();
        let mut bare = problems[1].clone();
        bare.id = "2".to_string();
        problems.push(bare);
        let index = ProblemIndex::new(&problems);
        assert_eq!(index.get("2").map(|p| p.entry_point.as_str()), Some("root"));
        assert_eq!(index.get("MBPP/2").map(|p| p.id.as_str()), Some("Mbpp/2"));
    }

    fn human_eval(prompt: &str, solution: &str) -> String {
        let record = json_line(prompt, solution);
        parse(&record).unwrap().remove(0).reference
    }

    fn json_line(prompt: &str, solution: &str) -> String {
        serde_json::json!({
            "task_id": "X/0", "entry_point": "f", "prompt": prompt,
            "canonical_solution": solution,
            "test": "def check(candidate):\n    assert candidate(1) == 2\n",
        })
        .to_string()
    }

    #[test]
    fn a_body_completes_the_prompt() {
        let prompt = "def f(x):\n    \"\"\"Doubles. def f(\"\"\"\n";
        assert_eq!(
            human_eval(prompt, "    # def f(x): was here\n    return 2 * x\n"),
            format!("{prompt}    # def f(x): was here\n    return 2 * x\n")
        );
        // Defined only inside a string or nested in another definition: still a body.
        let nested = "    def f(y):\n        return y\n    return 2 * f(x)\n";
        assert_eq!(human_eval(prompt, nested), format!("{prompt}{nested}"));
    }

    #[test]
    fn a_solution_defining_the_entry_point_is_the_reference_with_the_prompts_imports() {
        let prompt = "import math\nfrom typing import (List,\n    Tuple)\n\n\ndef f(x):\n    \"\"\"Doubles.\n    import this\n    \"\"\"\n";
        let solution = "import math\n\ndef f(x):\n    return 2 * x\n";
        assert_eq!(
            human_eval(prompt, solution),
            "from typing import (List,\n    Tuple)\nimport math\n\ndef f(x):\n    return 2 * x\n"
        );
        // A decorated definition counts; a docstring-only prompt adds nothing.
        let decorated = "@staticmethod\ndef f(x):\n    return 2 * x\n";
        assert_eq!(
            human_eval("\"\"\"\nDouble x.\n\"\"\"\n", decorated),
            decorated
        );
    }

    #[test]
    fn import_lines_are_recognised() {
        assert!(is_import("import math"));
        assert!(is_import("import numpy as np, re"));
        assert!(is_import("from collections.abc import Iterable"));
        assert!(!is_import("    import math"));
        assert!(!is_import("import the list, then sort it"));
        assert!(!is_import("from the list import ideas, you see"));
    }
}
