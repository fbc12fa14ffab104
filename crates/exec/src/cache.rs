//! A disk cache of prepared problems, so that a problem set's reference solutions run once
//! per machine rather than once per command (as EvalPlus caches its ground truth).
//!
//! One file per problem, named by a SHA-256 of everything preparation depends on: the
//! problem itself, the harness, the interpreter, tracealign's version and
//! [`PREPARED_FORMAT`], the meaning of a stored entry. Timeouts are not
//! part of the entry: they are derived from the cached reference times with the limits of
//! the current command. An entry holds the reference's untraced times and, for each way of
//! tracing that a command asked for (mode and caps), its traced times: a traced command that
//! finds none for its tracing times the reference so and stores the entry again, with the
//! rest of it as it was. Entries are written to a temporary file and renamed, so concurrent
//! runs never read half an entry; an unreadable entry is ignored and prepared again.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tracealign_core::Problem;

use crate::plan::PreparedProblem;
use crate::worker::{HARNESS, TRACER};

/// The meaning of a stored [`PreparedProblem`]; changed whenever the same JSON would be
/// judged differently, so that no older entry is read with newer semantics. 2: `atol` is
/// optional (absent: exact `==`, where 1 applied EvalPlus's tolerance to every problem),
/// values carry builtin subclasses, truthiness checks ask the harness for `bool(result)`.
pub const PREPARED_FORMAT: &str = "prepared-2";

/// Where prepared problems are kept.
pub struct PreparedCache {
    dir: PathBuf,
    /// Hash state of everything but the problem.
    salt: Sha256,
}

impl PreparedCache {
    /// A cache under `dir/prepared`, valid for this interpreter.
    pub fn new(dir: &Path, python: &Path, python_version: &str) -> PreparedCache {
        let mut salt = Sha256::new();
        let python = python.to_string_lossy();
        let parts = [
            PREPARED_FORMAT,
            env!("CARGO_PKG_VERSION"),
            HARNESS,
            TRACER,
            &python,
            python_version,
        ];
        for part in parts {
            salt.update(part.as_bytes());
            salt.update([0]);
        }
        PreparedCache {
            dir: dir.join("prepared"),
            salt,
        }
    }

    /// The default location: `$XDG_CACHE_HOME/tracealign`, else `~/.cache/tracealign`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))?;
        Some(base.join("tracealign"))
    }

    fn path(&self, problem: &Problem) -> PathBuf {
        let mut hash = self.salt.clone();
        // Debug output covers every field of the problem, tests included.
        hash.update(format!("{problem:?}").as_bytes());
        let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{digest}.json"))
    }

    /// The cached preparation of `problem`, if any.
    pub fn load(&self, problem: &Problem) -> Option<PreparedProblem> {
        let text = std::fs::read_to_string(self.path(problem)).ok()?;
        let prepared: PreparedProblem = serde_json::from_str(&text).ok()?;
        (prepared.id == problem.id && prepared.tests.len() == problem.tests.len())
            .then_some(prepared)
    }

    /// Stores a preparation. Failing to write the cache is not an error: the next run
    /// prepares the problem again.
    pub fn store(&self, problem: &Problem, prepared: &PreparedProblem) {
        let path = self.path(problem);
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| {
                std::fs::write(
                    &temporary,
                    serde_json::to_vec(prepared).expect("serializes"),
                )
            })
            .and_then(|()| std::fs::rename(&temporary, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
    }
}
