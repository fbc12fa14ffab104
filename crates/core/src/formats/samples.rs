//! Sample files: HumanEval/EvalPlus style (`task_id` with `completion` or `solution`) and
//! our own (`problem_id`, `sample_id`, `code`, `model`), detected per record.
//!
//! A sample's problem is found by [`ProblemIndex`], so MBPP samples named `MBPP/N` or `N`
//! find the problem `Mbpp/N`; every sample read carries its problem's own id.
//!
//! Samples are written in our own format only ([`write_samples`], [`SamplesWriter`]), one
//! complete line per sample, so a generation that is interrupted keeps every sample it
//! finished and resumes after them ([`SamplesWriter::resume`]).

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::jsonl::{drop_torn_line, parse_records, read_text, write_records, Record};
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

/// Writes `samples` as JSON Lines in our own format, creating (or truncating) the file;
/// returns how many.
pub fn write_samples<'a>(
    path: &Path,
    samples: impl IntoIterator<Item = &'a Sample>,
) -> Result<usize> {
    write_records(path, samples)
}

/// Appends samples to a samples file, one complete line per write, flushed at once: a
/// killed generation leaves at most one torn last line, which [`SamplesWriter::append`]
/// and [`SamplesWriter::resume`] cut off.
pub struct SamplesWriter {
    path: PathBuf,
    file: File,
}

impl SamplesWriter {
    /// Creates (or truncates) the file.
    pub fn create(path: &Path) -> Result<SamplesWriter> {
        let file = File::create(path).map_err(|source| Error::Write {
            path: path.into(),
            source,
        })?;
        Ok(SamplesWriter {
            path: path.into(),
            file,
        })
    }

    /// Opens the file for appending (creating it when missing), first cutting a last line
    /// that an interrupted writer left unfinished.
    pub fn append(path: &Path) -> Result<SamplesWriter> {
        let write_error = |source| Error::Write {
            path: path.into(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(write_error)?;
        drop_torn_line(&file).map_err(write_error)?;
        Ok(SamplesWriter {
            path: path.into(),
            file,
        })
    }

    /// [`SamplesWriter::append`], with the `sample_id`s the file already holds (none when
    /// it is missing): what an interrupted generation finished and need not redo.
    pub fn resume(path: &Path) -> Result<(SamplesWriter, HashSet<String>)> {
        let writer = SamplesWriter::append(path)?;
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.into(),
            source,
        })?;
        let mut done = HashSet::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let sample: Sample = serde_json::from_str(line).map_err(|e| Error::Json {
                path: path.into(),
                line: index + 1,
                message: format!("not a sample written by tracealign: {e}"),
            })?;
            done.insert(sample.sample_id);
        }
        Ok((writer, done))
    }

    /// Writes one sample as one line, with a single `write_all` and a flush.
    pub fn write(&mut self, sample: &Sample) -> Result<()> {
        self.file
            .write_all(sample_line(sample).as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|source| Error::Write {
                path: self.path.clone(),
                source,
            })
    }
}

/// A sample's line, line break included.
fn sample_line(sample: &Sample) -> String {
    let mut line = serde_json::to_string(sample).expect("samples always serialize");
    line.push('\n');
    line
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

    #[test]
    fn written_samples_read_back_as_they_were() {
        let problems = parse_problems(
            Path::new("p.jsonl"),
            r#"{"task_id": 2, "text": "Add one.", "code": "def f(x):\n    return x + 1", "test_list": ["assert f(1) == 2"]}"#,
            None,
        )
        .unwrap();
        let reference = Sample::reference(&problems[0]);
        let mutant = Sample {
            sample_id: crate::sample::mutant_id(&reference.sample_id, 0),
            code: "def f(x):\n    return x - 1".into(),
            model: Some("mutant".into()),
            mutation: Some(crate::InjectedFault {
                operator: "arithmetic".into(),
                lines: vec![2],
                span: (22, 23),
                description: "`+` → `-`".into(),
                origin: reference.sample_id.clone(),
            }),
            ..reference.clone()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samples.jsonl");
        let samples = [reference, mutant];
        assert_eq!(write_samples(&path, &samples).unwrap(), 2);
        let file = read_samples(&path, &problems).unwrap();
        assert_eq!(file.samples, samples);
        assert!(file.unknown.is_empty());
    }

    #[test]
    fn resuming_cuts_a_torn_line_and_appends_after_the_finished_samples() {
        let sample = |id: &str| Sample {
            problem_id: "p".into(),
            sample_id: id.into(),
            code: "x = 1\n".into(),
            model: None,
            mutation: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samples.jsonl");
        let (_, done) = SamplesWriter::resume(&path).unwrap();
        assert!(done.is_empty(), "a missing file has nothing done");

        let mut writer = SamplesWriter::create(&path).unwrap();
        writer.write(&sample("p#0")).unwrap();
        writer.write(&sample("p#1")).unwrap();
        drop(writer);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"problem_id": "p", "sample_id": "p#2", "co"#)
            .unwrap();

        let (mut writer, done) = SamplesWriter::resume(&path).unwrap();
        assert_eq!(done, HashSet::from(["p#0".into(), "p#1".into()]));
        writer.write(&sample("p#2")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let ids: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<Sample>(l).unwrap().sample_id)
            .collect();
        assert_eq!(ids, ["p#0", "p#1", "p#2"]);
    }
}
