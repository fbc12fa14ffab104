//! Reading rows to answer: this crate's own (`tracealign build traced`), or CRUXEval's JSONL
//! as it is published (`code` defining `f`, `input` as Python argument source, `output` as a
//! Python literal, `id`), which becomes `output` rows.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::rows::{Answer, PredictRow, Task};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Row {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// CRUXEval's columns.
#[derive(Deserialize)]
struct CruxRow {
    id: String,
    code: String,
    input: String,
    output: String,
}

/// The rows of `path`, in order; each line either format.
pub fn read_rows(path: &Path) -> Result<Vec<PredictRow>, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut rows = Vec::new();
    for (index, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let error = |message: String| ReadError::Row {
            path: path.to_path_buf(),
            line: index + 1,
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| error(e.to_string()))?;
        rows.push(parse_row(value).map_err(error)?);
    }
    Ok(rows)
}

/// One row from its JSON: ours (it has a `kind`) or CRUXEval's; the message says which
/// was expected and what is wrong.
pub fn parse_row(value: serde_json::Value) -> Result<PredictRow, String> {
    match value.get("kind") {
        Some(_) => {
            serde_json::from_value(value).map_err(|e| format!("not a `build traced` row: {e}"))
        }
        None => {
            let crux: CruxRow = serde_json::from_value(value).map_err(|e| {
                format!(
                    "neither a `build traced` row nor CRUXEval's (id, code, input, output): {e}"
                )
            })?;
            Ok(cruxeval_row(crux))
        }
    }
}

/// CRUXEval-O: what `f(input)` returns.
fn cruxeval_row(crux: CruxRow) -> PredictRow {
    let code = crux.code.trim_end().to_string();
    PredictRow {
        id: crux.id.clone(),
        kind: Task::Output,
        problem_id: crux.id.clone(),
        sample_id: crux.id,
        test: "cruxeval".into(),
        from_failing: false,
        prompt: format!(
            "```python\n{code}\n```\n\nWhat does `f({})` return? Answer with a Python literal and \
             nothing else.\n",
            crux.input
        ),
        completion: crux.output.clone(),
        code: code + "\n",
        entry_point: "f".into(),
        args: crux.input,
        line: None,
        rationale: None,
        answer: Answer::Value { repr: crux.output },
    }
}
