//! JSON Lines input, plain or gzip-compressed, with errors that name the file and line.
//!
//! [`read_text`] is the one gzip-aware text reader: every reader of a tracealign file goes
//! through it, so any input may be compressed. [`write_records`] is the one writer of whole
//! JSON Lines files (fault reports, samples, dataset rows).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};

/// One JSON object read from a line of a file.
pub struct Record {
    /// Where it came from, for error messages.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    pub fields: Map<String, Json>,
}

/// Reads a `.jsonl` or `.jsonl.gz` file into records, skipping blank lines.
pub fn read_records(path: &Path, what: &'static str) -> Result<Vec<Record>> {
    let text = read_text(path)?;
    parse_records(path, &text, what)
}

/// Reads a file's text, gunzipping it when it starts with the gzip magic number (whatever
/// its name; concatenated gzip members are read whole). Not UTF-8 is a read error.
pub fn read_text(path: &Path) -> Result<String> {
    let read_error = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(read_error)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .map_err(read_error)?;
        Ok(text)
    } else {
        String::from_utf8(bytes).map_err(|e| {
            read_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                e.utf8_error(),
            ))
        })
    }
}

/// Writes `records` as JSON Lines, one object per line, creating (or truncating) the file;
/// returns how many.
pub fn write_records<T: serde::Serialize>(
    path: &Path,
    records: impl IntoIterator<Item = T>,
) -> Result<usize> {
    let write_error = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut out = BufWriter::new(File::create(path).map_err(write_error)?);
    let mut count = 0;
    for record in records {
        serde_json::to_writer(&mut out, &record).map_err(|e| write_error(e.into()))?;
        out.write_all(b"\n").map_err(write_error)?;
        count += 1;
    }
    out.flush().map_err(write_error)?;
    Ok(count)
}

/// Cuts a last line that a killed writer left unfinished (one without its line break), so
/// that appending continues on a clean line and the file stays JSON Lines; returns the new
/// length. Reads only the file's tail.
pub(crate) fn drop_torn_line(file: &File) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let full = file.metadata()?.len();
    let mut end = full;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.read_exact_at(part, start)?;
        if let Some(newline) = part.iter().rposition(|&b| b == b'\n') {
            end = start + newline as u64 + 1;
            break;
        }
        end = start;
    }
    if end != full {
        file.set_len(end)?;
    }
    Ok(end)
}

/// Parses JSON Lines text (from a file or embedded data) into records.
pub fn parse_records(path: &Path, text: &str, what: &'static str) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let json: Json = serde_json::from_str(line).map_err(|e| Error::Json {
            path: path.to_path_buf(),
            line: line_number,
            message: e.to_string(),
        })?;
        let Json::Object(fields) = json else {
            return Err(Error::Record {
                path: path.to_path_buf(),
                line: line_number,
                message: format!("expected a JSON object (one {what} per line)"),
            });
        };
        records.push(Record {
            path: path.to_path_buf(),
            line: line_number,
            fields,
        });
    }
    if records.is_empty() {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what,
        });
    }
    Ok(records)
}

impl Record {
    /// An error about this record.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::Record {
            path: self.path.clone(),
            line: self.line,
            message: message.into(),
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    /// A required string field.
    pub fn string(&self, field: &str) -> Result<String> {
        match self.fields.get(field) {
            Some(Json::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.error(format!(
                "field `{field}` must be a string, found {}",
                json_kind(other)
            ))),
            None => Err(self.error(format!("missing field `{field}`"))),
        }
    }

    /// An optional string field (absent or null is `None`).
    pub fn optional_string(&self, field: &str) -> Result<Option<String>> {
        match self.fields.get(field) {
            None | Some(Json::Null) => Ok(None),
            Some(_) => self.string(field).map(Some),
        }
    }

    /// A string or integer field (HumanEval/MBPP ids are either), as text.
    pub fn id(&self, field: &str) -> Result<String> {
        match self.fields.get(field) {
            Some(Json::Number(n)) => Ok(n.to_string()),
            _ => self.string(field),
        }
    }

    /// A required array field.
    pub fn array(&self, field: &str) -> Result<&Vec<Json>> {
        match self.fields.get(field) {
            Some(Json::Array(items)) => Ok(items),
            Some(other) => Err(self.error(format!(
                "field `{field}` must be an array, found {}",
                json_kind(other)
            ))),
            None => Err(self.error(format!("missing field `{field}`"))),
        }
    }

    /// The record's keys, for "cannot tell the format" messages.
    pub fn keys(&self) -> String {
        self.fields
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// "a number", "an array", ...: for messages about wrongly typed fields.
pub fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}
