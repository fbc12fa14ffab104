//! `runs.jsonl`: executions appended one line per sample as they finish, and the resume
//! logic that reads back what an interrupted run already finished.
//!
//! Traces stay inline in a sample's line while its traces serialize to at most
//! [`INLINE_TRACE_BYTES`]; bigger ones go to a sidecar, `<runs file>.traces.jsonl`, one line per
//! sample, and the sample's line records where ([`TraceLocation`]). Small traces are then read
//! with the run, and big ones do not make every reader of `runs.jsonl` pay for them.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::jsonl::drop_torn_line;
use crate::error::{Error, Result};
use crate::execution::{Execution, TraceLocation};
use crate::trace::Trace;

/// Traces of one sample up to this size (serialized) stay in its runs line.
pub const INLINE_TRACE_BYTES: usize = 64 * 1024;

/// Appends executions to a runs file, one complete line per write.
pub struct RunsWriter {
    path: PathBuf,
    file: File,
    /// The traces sidecar, opened on first use.
    sidecar: Option<(File, u64)>,
}

impl RunsWriter {
    /// Creates (or truncates) the file.
    pub fn create(path: &Path) -> Result<RunsWriter> {
        let file = File::create(path).map_err(|source| Error::Write {
            path: path.into(),
            source,
        })?;
        let _ = std::fs::remove_file(sidecar_path(path));
        Ok(RunsWriter {
            path: path.into(),
            file,
            sidecar: None,
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
            sidecar: None,
        })
    }

    /// Writes one execution as one line (its traces first, to the sidecar, when they are
    /// big). A single `write_all` of the whole line keeps a killed run from leaving more
    /// than one torn line, which resume then drops.
    ///
    /// Traces are serialized once, straight from their types: a trip through a generic
    /// JSON value cost more than running the traced programs (`--trace full` on HumanEval:
    /// ~0.3 s of tracealign's CPU, most of it the kernel handing out fresh pages).
    pub fn write(&mut self, mut execution: Execution) -> Result<()> {
        if execution.tests.iter().any(|t| t.trace.is_some()) {
            let traces: Vec<Option<Trace>> =
                execution.tests.iter_mut().map(|t| t.trace.take()).collect();
            let record = TracesRecord {
                sample_id: &execution.sample_id,
                traces: &traces,
            };
            let record = serde_json::to_string(&record).expect("traces serialize");
            if record.len() > INLINE_TRACE_BYTES {
                execution.traces_at = Some(self.append_to_sidecar(record)?);
            } else {
                for (test, trace) in execution.tests.iter_mut().zip(traces) {
                    test.trace = trace;
                }
            }
        }
        let mut line = serde_json::to_string(&execution).expect("executions always serialize");
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|source| Error::Write {
                path: self.path.clone(),
                source,
            })
    }

    /// Appends one line of traces to the sidecar; where it went.
    fn append_to_sidecar(&mut self, mut line: String) -> Result<TraceLocation> {
        let path = sidecar_path(&self.path);
        let write_error = |source| Error::Write {
            path: path.clone(),
            source,
        };
        if self.sidecar.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(&path)
                .map_err(write_error)?;
            let end = drop_torn_line(&file).map_err(write_error)?;
            self.sidecar = Some((file, end));
        }
        let (file, end) = self.sidecar.as_mut().expect("opened above");
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|()| file.flush())
            .map_err(write_error)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let location = TraceLocation {
            file: name,
            offset: *end,
            bytes: line.len() as u64,
        };
        *end += line.len() as u64;
        Ok(location)
    }
}

/// A line of the traces sidecar: one sample's traces, in test order.
#[derive(serde::Serialize)]
struct TracesRecord<'a> {
    sample_id: &'a str,
    traces: &'a [Option<Trace>],
}

/// The traces sidecar of a runs file.
pub fn sidecar_path(runs: &Path) -> PathBuf {
    let mut name = runs.file_name().unwrap_or_default().to_os_string();
    name.push(".traces.jsonl");
    runs.with_file_name(name)
}

/// The traces of an execution's tests, in test order, wherever they are kept.
pub fn load_traces(runs: &Path, execution: &Execution) -> Result<Vec<Option<Trace>>> {
    let Some(location) = &execution.traces_at else {
        return Ok(execution.tests.iter().map(|t| t.trace.clone()).collect());
    };
    let path = runs.with_file_name(&location.file);
    let read_error = |source| Error::Read {
        path: path.clone(),
        source,
    };
    let mut file = File::open(&path).map_err(read_error)?;
    file.seek(SeekFrom::Start(location.offset))
        .map_err(read_error)?;
    let mut line = vec![0; location.bytes as usize];
    std::io::Read::read_exact(&mut file, &mut line).map_err(read_error)?;
    // Straight into the trace types: going through a generic JSON value first costs more
    // than the rest of reading a runs file.
    #[derive(serde::Deserialize)]
    struct Record {
        traces: Vec<Option<Trace>>,
    }
    serde_json::from_slice::<Record>(&line)
        .map(|r| r.traces)
        .map_err(|e| Error::Json {
            path,
            line: 0,
            message: e.to_string(),
        })
}

/// Every execution in a runs file (plain or gzip-compressed), with the traces of sidecar
/// files put back in place.
pub fn read_runs(path: &Path) -> Result<Vec<Execution>> {
    let text = super::read_text(path)?;
    let mut executions = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut execution: Execution = serde_json::from_str(line).map_err(|e| Error::Json {
            path: path.into(),
            line: index + 1,
            message: format!("not an execution record of `tracealign run`: {e}"),
        })?;
        if execution.traces_at.is_some() {
            let traces = load_traces(path, &execution)?;
            for (test, trace) in execution.tests.iter_mut().zip(traces) {
                test.trace = trace;
            }
        }
        executions.push(execution);
    }
    Ok(executions)
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
