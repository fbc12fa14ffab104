//! Sample files: HumanEval/EvalPlus style (`task_id` with `completion` or `solution`) and
//! our own (`problem_id`, `sample_id`, `code`, `model`), detected per record.

use std::collections::HashMap;
use std::path::Path;

use super::jsonl::{parse_records, read_text, Record};
use crate::error::{Error, Result};
use crate::problem::Problem;
use crate::sample::Sample;

/// Samples read from a file, and those naming a problem that is not in the problem set.
#[derive(Debug, Default)]
pub struct SampleFile {
    pub samples: Vec<Sample>,
    /// `(line, problem id)` of samples whose problem is unknown (they are not in `samples`).
    pub unknown: Vec<(usize, String)>,
}

/// Reads samples; `problems` supplies the prompts that completions are appended to.
pub fn read_samples(path: &Path, problems: &[Problem]) -> Result<SampleFile> {
    parse_samples(path, &read_text(path)?, problems)
}

/// Parses samples from JSON Lines text; `origin` names it in errors.
pub fn parse_samples(origin: &Path, text: &str, problems: &[Problem]) -> Result<SampleFile> {
    let by_id: HashMap<&str, &Problem> = problems.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut per_problem: HashMap<String, usize> = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut file = SampleFile::default();
    for record in parse_records(origin, text, "sample")? {
        let problem_id = problem_id(&record)?;
        let Some(problem) = by_id.get(problem_id.as_str()) else {
            file.unknown.push((record.line, problem_id));
            continue;
        };
        let index = per_problem.entry(problem_id.clone()).or_default();
        let sample = read_sample(&record, problem, *index)?;
        *index += 1;
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
