//! `runs.jsonl`: executions appended one line per sample as they finish, and the resume
//! logic that reads back what an interrupted run already finished.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::execution::Execution;

/// Appends executions to a runs file, one complete line per write.
pub struct RunsWriter {
    path: PathBuf,
    file: File,
}

impl RunsWriter {
    /// Creates (or truncates) the file.
    pub fn create(path: &Path) -> Result<RunsWriter> {
        let file = File::create(path).map_err(|source| Error::Write {
            path: path.into(),
            source,
        })?;
        Ok(RunsWriter {
            path: path.into(),
            file,
        })
    }

    /// Opens the file for appending after [`finished_samples`] read it.
    pub fn append(path: &Path) -> Result<RunsWriter> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| Error::Write {
                path: path.into(),
                source,
            })?;
        Ok(RunsWriter {
            path: path.into(),
            file,
        })
    }

    /// Writes one execution as one line. A single `write_all` of the whole line keeps a
    /// killed run from leaving more than one torn line, which resume then drops.
    pub fn write(&mut self, execution: &Execution) -> Result<()> {
        let mut line = serde_json::to_string(execution).expect("executions always serialize");
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|source| Error::Write {
                path: self.path.clone(),
                source,
            })
    }
}

/// The `sample_id`s already in a runs file. A last line cut short by a killed run is
/// removed from the file, so that appending continues on a clean line.
pub fn finished_samples(path: &Path) -> Result<HashSet<String>> {
    let read_error = |source| Error::Read {
        path: path.into(),
        source,
    };
    let mut done = HashSet::new();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(done),
        Err(e) => return Err(read_error(e)),
    };
    let mut reader = BufReader::new(file);
    let mut good_bytes = 0u64;
    let mut line = String::new();
    let mut line_number = 0;
    loop {
        line.clear();
        let read = reader.read_line(&mut line).map_err(read_error)?;
        if read == 0 {
            break;
        }
        line_number += 1;
        match serde_json::from_str::<Execution>(&line) {
            Ok(execution) if line.ends_with('\n') => {
                done.insert(execution.sample_id);
                good_bytes += read as u64;
            }
            // Only the last line may be torn; anything else is a file we did not write.
            _ if !line.ends_with('\n') => break,
            Err(e) => {
                return Err(Error::Json {
                    path: path.into(),
                    line: line_number,
                    message: e.to_string(),
                })
            }
            Ok(_) => unreachable!(),
        }
    }
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(read_error)?;
    if file.metadata().map_err(read_error)?.len() != good_bytes {
        file.set_len(good_bytes).map_err(read_error)?;
    }
    let mut file = file;
    file.seek(SeekFrom::End(0)).map_err(read_error)?;
    Ok(done)
}
