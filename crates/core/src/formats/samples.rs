//! Sample files: HumanEval/EvalPlus style (`task_id` with `completion` or `solution`) and
//! our own (`problem_id`, `sample_id`, `code`, `model`), detected per record.
//!
//! A sample's problem is found by [`ProblemIndex`], so MBPP samples named `MBPP/N` or `N`
//! find the problem `Mbpp/N`; every sample read carries its problem's own id.

use std::collections::HashMap;
use std::path::Path;

use super::jsonl::{parse_records, read_text, Record};
use super::problems::ProblemIndex;
use crate::error::{Error, Result};
use crate::problem::Problem;
use crate::sample::Sample;

/// Samples read from a file, and those naming a problem that is not in the problem set.
#[derive(Debug, Default)]
pub struct SampleFile {
    pub samples: Vec<Sample>,
    /// `(line, problem id)` of samples whose problem is unknown (they are not in `samples`),
    /// the id as the sample gives it.
    pub unknown: Vec<(usize, String)>,
}

/// Reads samples; `problems` supplies the prompts that completions are appended to.
pub fn read_samples(path: &Path, problems: &[Problem]) -> Result<SampleFile> {
    parse_samples(path, &read_text(path)?, problems)
}

/// Parses samples from JSON Lines text; `origin` names it in errors.
pub fn parse_samples(origin: &Path, text: &str, problems: &[Problem]) -> Result<SampleFile> {
    let index = ProblemIndex::new(problems);
    let mut per_problem: HashMap<String, usize> = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut file = SampleFile::default();
    for record in parse_records(origin, text, "sample")? {
        let problem_id = problem_id(&record)?;
        let Some(problem) = index.get(&problem_id) else {
            file.unknown.push((record.line, problem_id));
            continue;
        };
        let count = per_problem.entry(problem.id.clone()).or_default();
        let sample = read_sample(&record, problem, *count)?;
        *count += 1;
        if let Some(first_line) = seen.insert(sample.sample_id.clone(), record.line) {
            return Err(Error::Duplicate {
                path: origin.to_path_buf(),
                line: record.line,
                what: "sample",
                id: sample.sample_id,
                first_line,
            });
        }
        file.samples.push(sample);
    }
    Ok(file)
}

fn problem_id(record: &Record) -> Result<String> {
    if record.has("problem_id") {
        record.id("problem_id")
    } else if record.has("task_id") {
        record.id("task_id")
    } else {
        Err(Error::UnknownFormat {
            path: record.path.clone(),
            line: record.line,
            keys: record.keys(),
            expected: "`problem_id` + `code` (tracealign), or `task_id` + `completion` / `solution` (HumanEval, EvalPlus)",
        })
    }
}

fn read_sample(record: &Record, problem: &Problem, index: usize) -> Result<Sample> {
    let code = if record.has("code") {
        record.string("code")?
    } else if record.has("solution") {
        record.string("solution")?
    } else if record.has("completion") {
        format!("{}{}", problem.prompt, record.string("completion")?)
    } else {
        return Err(
            record.error("missing the program: expected `code`, `solution` or `completion`")
        );
    };
    let sample_id = match record.fields.get("sample_id") {
        Some(_) => record.id("sample_id")?,
        None => format!("{}#{index}", problem.id),
    };
    Ok(Sample {
        problem_id: problem.id.clone(),
        sample_id,
        code,
        model: record.optional_string("model")?,
        mutation: read_mutation(record)?,
    })
}

/// The ground truth of a mutant, when the record has one.
fn read_mutation(record: &Record) -> Result<Option<crate::InjectedFault>> {
    match record.fields.get("mutation") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value.clone()).map(Some).map_err(|e| {
            record.error(format!(
                "`mutation` is not an injected fault (operator, lines, span, description, origin): {e}"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::problems::parse_problems;

    #[test]
    fn mbpp_samples_match_under_each_naming_and_carry_the_problems_id() {
        let problems = parse_problems(
            Path::new("p.jsonl"),
            r#"{"task_id": 2, "text": "Add one.", "code": "def f(x):\n    return x + 1", "test_list": ["assert f(1) == 2"]}"#,
            None,
        )
        .unwrap();
        assert_eq!(problems[0].id, "Mbpp/2");
        let text = [
            r#"{"task_id": "MBPP/2", "completion": "    return x + 1\n"}"#,
            r#"{"task_id": 2, "solution": "def f(x):\n    return x + 1\n"}"#,
            r#"{"problem_id": "2", "sample_id": "bare", "code": "def f(x):\n    return x\n"}"#,
            r#"{"problem_id": "Mbpp/2", "code": "def f(x):\n    return x\n"}"#,
            r#"{"problem_id": "MBPP/3", "code": ""}"#,
        ]
        .join("\n");
        let file = parse_samples(Path::new("s.jsonl"), &text, &problems).unwrap();
        let ids: Vec<_> = file
            .samples
            .iter()
            .map(|s| (s.problem_id.as_str(), s.sample_id.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("Mbpp/2", "Mbpp/2#0"),
                ("Mbpp/2", "Mbpp/2#1"),
                ("Mbpp/2", "bare"),
                ("Mbpp/2", "Mbpp/2#3")
            ]
        );
        assert_eq!(file.unknown, [(5, "MBPP/3".to_string())]);
    }
}
