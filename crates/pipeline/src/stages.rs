//! The stage graph every multi-step job runs on (the pipeline, `eval`, the experiment): a
//! stage is skipped when its outputs exist and its fingerprint matches the one recorded when
//! it last finished; an interrupted stage is told to continue what it started.
//!
//! A fingerprint hashes the stage's name, its serialized settings, the identity of the files
//! it reads from outside the job (contents, or for model directories and large files names,
//! sizes and modification times) and the manifests of the stages it comes after. A manifest
//! records when its stage finished, so a stage that reruns changes the fingerprint of every
//! stage after it, and only of those. Each manifest also records the equivalent command
//! line, for people.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One stage as planned: what it is, what it needs, what it writes.
#[derive(Debug, Clone)]
pub struct Stage<K> {
    /// Unique within the job; may contain `/` (`train/fait`).
    pub name: String,
    /// What the job does to run it.
    pub kind: K,
    /// Stages whose outputs it reads.
    pub after: Vec<String>,
    /// Its settings, serialized: a change reruns it.
    pub settings: serde_json::Value,
    /// Files or model directories from outside the job that it reads.
    pub reads: Vec<PathBuf>,
    /// What it writes; all of them existing (with a matching manifest) means done.
    pub outputs: Vec<PathBuf>,
    /// The `tracealign` command line that does the same, for people.
    pub command: String,
}

impl<K> Stage<K> {
    pub fn new(name: impl Into<String>, kind: K) -> Stage<K> {
        Stage {
            name: name.into(),
            kind,
            after: Vec::new(),
            settings: serde_json::Value::Null,
            reads: Vec::new(),
            outputs: Vec::new(),
            command: String::new(),
        }
    }

    pub fn after(mut self, stages: &[&str]) -> Stage<K> {
        self.after.extend(stages.iter().map(|s| s.to_string()));
        self
    }

    pub fn settings(mut self, settings: &impl Serialize) -> Stage<K> {
        self.settings = serde_json::to_value(settings).expect("settings serialize");
        self
    }

    pub fn reads(mut self, paths: impl IntoIterator<Item = PathBuf>) -> Stage<K> {
        self.reads.extend(paths);
        self
    }

    pub fn output(mut self, path: PathBuf) -> Stage<K> {
        self.outputs.push(path);
        self
    }

    pub fn command(mut self, command: impl Into<String>) -> Stage<K> {
        self.command = command.into();
        self
    }
}

/// How a stage is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Nothing of an earlier run is kept: write outputs anew.
    Fresh,
    /// An interrupted run with the same fingerprint: continue what it wrote.
    Continue,
}

/// What happened to a stage.
#[derive(Debug, Clone, PartialEq)]
pub enum StageEvent<'a> {
    UpToDate {
        name: &'a str,
        index: usize,
        total: usize,
    },
    Started {
        name: &'a str,
        index: usize,
        total: usize,
        start: Start,
    },
    Finished {
        name: &'a str,
        index: usize,
        total: usize,
        seconds: f64,
    },
}

/// What runs a job's stages.
pub trait Job {
    type Kind;
    type Error: From<StageError>;
    fn run_stage(&mut self, stage: &Stage<Self::Kind>, start: Start) -> Result<(), Self::Error>;
}

/// A stage's record once it finished.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    fingerprint: String,
    finished_at_ns: u128,
    seconds: f64,
    command: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("stage `{stage}` comes after `{missing}`, which is not planned before it")]
    Order { stage: String, missing: String },
}

/// Where a job keeps its manifests: `DIR/.stages/`.
pub struct Manifests {
    dir: PathBuf,
}

impl Manifests {
    pub fn new(out: &Path) -> Manifests {
        Manifests {
            dir: out.join(".stages"),
        }
    }

    fn path(&self, stage: &str) -> PathBuf {
        self.dir.join(stage.replace('/', "--"))
    }

    fn started_path(&self, stage: &str) -> PathBuf {
        self.path(stage).with_extension("started")
    }

    /// The stage's fingerprint, from its settings, reads and predecessors' manifests.
    pub fn fingerprint<K>(&self, stage: &Stage<K>) -> Result<String, StageError> {
        let mut hash = Sha256::new();
        hash.update(stage.name.as_bytes());
        hash.update([0x1f]);
        hash.update(stage.settings.to_string().as_bytes());
        for path in &stage.reads {
            hash.update([0x1e]);
            hash.update(identity(path)?);
        }
        for before in &stage.after {
            hash.update([0x1d]);
            hash.update(std::fs::read(self.path(before)).unwrap_or_default());
        }
        Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    fn finished(&self, stage: &str) -> Option<Manifest> {
        let text = std::fs::read_to_string(self.path(stage)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Whether the stage is done with this fingerprint: manifest matches, outputs exist.
    pub fn is_done<K>(&self, stage: &Stage<K>, fingerprint: &str) -> bool {
        self.finished(&stage.name)
            .is_some_and(|m| m.fingerprint == fingerprint)
            && stage.outputs.iter().all(|p| p.exists())
    }

    fn begin<K>(&self, stage: &Stage<K>, fingerprint: &str) -> Result<Start, StageError> {
        let started = self.started_path(&stage.name);
        let same = std::fs::read_to_string(&started).ok().as_deref() == Some(fingerprint);
        write(&started, fingerprint.as_bytes())?;
        let manifest = self.path(&stage.name);
        if manifest.exists() {
            std::fs::remove_file(&manifest).map_err(|source| StageError::Write {
                path: manifest,
                source,
            })?;
        }
        Ok(if same { Start::Continue } else { Start::Fresh })
    }

    fn finish<K>(
        &self,
        stage: &Stage<K>,
        fingerprint: &str,
        seconds: f64,
    ) -> Result<(), StageError> {
        let manifest = Manifest {
            fingerprint: fingerprint.to_string(),
            // A fresh run marks itself, so the stages after it see a new fingerprint.
            finished_at_ns: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            seconds,
            command: stage.command.clone(),
        };
        let text = serde_json::to_string_pretty(&manifest).expect("manifests serialize");
        write(&self.path(&stage.name), (text + "\n").as_bytes())
    }
}

/// Runs the stages in order, skipping those done; `on_event` hears of each.
pub fn run_stages<J: Job>(
    out: &Path,
    stages: &[Stage<J::Kind>],
    job: &mut J,
    on_event: &mut dyn FnMut(StageEvent<'_>),
) -> Result<(), J::Error> {
    check_order(stages)?;
    let manifests = Manifests::new(out);
    std::fs::create_dir_all(&manifests.dir).map_err(|source| StageError::Write {
        path: manifests.dir.clone(),
        source,
    })?;
    let total = stages.len();
    for (index, stage) in stages.iter().enumerate() {
        let name = stage.name.as_str();
        let fingerprint = manifests.fingerprint(stage)?;
        if manifests.is_done(stage, &fingerprint) {
            on_event(StageEvent::UpToDate { name, index, total });
            continue;
        }
        let start = manifests.begin(stage, &fingerprint)?;
        on_event(StageEvent::Started {
            name,
            index,
            total,
            start,
        });
        let clock = Instant::now();
        for output in &stage.outputs {
            if let Some(parent) = output.parent() {
                std::fs::create_dir_all(parent).map_err(|source| StageError::Write {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
        }
        job.run_stage(stage, start)?;
        let seconds = clock.elapsed().as_secs_f64();
        manifests.finish(stage, &fingerprint, seconds)?;
        on_event(StageEvent::Finished {
            name,
            index,
            total,
            seconds,
        });
    }
    Ok(())
}

/// Every stage comes after stages planned before it (so one pass in order is enough).
fn check_order<K>(stages: &[Stage<K>]) -> Result<(), StageError> {
    for (i, stage) in stages.iter().enumerate() {
        for before in &stage.after {
            if !stages[..i].iter().any(|s| &s.name == before) {
                return Err(StageError::Order {
                    stage: stage.name.clone(),
                    missing: before.clone(),
                });
            }
        }
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), StageError> {
    std::fs::write(path, bytes).map_err(|source| StageError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// A file's contents, or for a directory (a model) or a large file (not worth hashing on
/// every run) the names, sizes and modification times of its files.
fn identity(path: &Path) -> Result<Vec<u8>, StageError> {
    let read_error = |source| StageError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if meta.is_file() && meta.len() < 64 << 20 {
        return std::fs::read(path).map_err(read_error);
    }
    let mut files = vec![path.to_path_buf()];
    if meta.is_dir() {
        files = std::fs::read_dir(path)
            .and_then(|entries| entries.map(|e| e.map(|e| e.path())).collect())
            .map_err(read_error)?;
        files.sort();
    }
    let mut id = Vec::new();
    for file in files {
        let meta = std::fs::metadata(&file).map_err(|source| StageError::Read {
            path: file.clone(),
            source,
        })?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        id.extend(format!("{} {} {modified:?}\n", file.display(), meta.len()).bytes());
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes each stage's output, counting the runs.
    struct Recorder {
        ran: Vec<(String, Start)>,
        fail_at: Option<String>,
    }

    #[derive(Debug)]
    struct Failed;

    impl From<StageError> for Failed {
        fn from(_: StageError) -> Failed {
            Failed
        }
    }

    impl Job for Recorder {
        type Kind = ();
        type Error = Failed;
        fn run_stage(&mut self, stage: &Stage<()>, start: Start) -> Result<(), Failed> {
            self.ran.push((stage.name.clone(), start));
            if self.fail_at.as_deref() == Some(stage.name.as_str()) {
                return Err(Failed);
            }
            for output in &stage.outputs {
                std::fs::write(output, &stage.name).unwrap();
            }
            Ok(())
        }
    }

    /// a → b → c, and d beside them (after nothing); `b` has a setting.
    fn plan(dir: &Path, b_setting: u32) -> Vec<Stage<()>> {
        let stage = |name: &str| Stage::new(name, ()).output(dir.join(format!("{name}.out")));
        vec![
            stage("a"),
            stage("b").after(&["a"]).settings(&b_setting),
            stage("c").after(&["b"]),
            stage("d"),
        ]
    }

    fn run(dir: &Path, stages: &[Stage<()>], fail_at: Option<&str>) -> Vec<(String, Start)> {
        let mut job = Recorder {
            ran: Vec::new(),
            fail_at: fail_at.map(str::to_string),
        };
        let _ = run_stages(dir, stages, &mut job, &mut |_| {});
        job.ran
    }

    fn names(ran: &[(String, Start)]) -> Vec<&str> {
        ran.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn a_second_run_skips_every_stage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(names(&run(dir.path(), &plan(dir.path(), 1), None)).len(), 4);
        assert!(run(dir.path(), &plan(dir.path(), 1), None).is_empty());
    }

    #[test]
    fn a_changed_setting_reruns_exactly_the_stages_after_it() {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &plan(dir.path(), 1), None);
        let ran = run(dir.path(), &plan(dir.path(), 2), None);
        assert_eq!(names(&ran), ["b", "c"]);
        assert!(ran.iter().all(|(_, s)| *s == Start::Fresh));
    }

    #[test]
    fn a_changed_input_file_reruns_its_reader_and_what_follows() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input.txt");
        std::fs::write(&input, "one").unwrap();
        let with_input = |dir: &Path| {
            let mut stages = plan(dir, 1);
            stages[1].reads.push(input.clone());
            stages
        };
        run(dir.path(), &with_input(dir.path()), None);
        std::fs::write(&input, "two").unwrap();
        assert_eq!(
            names(&run(dir.path(), &with_input(dir.path()), None)),
            ["b", "c"]
        );
    }

    #[test]
    fn a_missing_output_reruns_its_stage_and_the_stages_after_it() {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &plan(dir.path(), 1), None);
        std::fs::remove_file(dir.path().join("a.out")).unwrap();
        assert_eq!(
            names(&run(dir.path(), &plan(dir.path(), 1), None)),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn an_interrupted_stage_continues_and_nothing_before_it_reruns() {
        let dir = tempfile::tempdir().unwrap();
        let ran = run(dir.path(), &plan(dir.path(), 1), Some("b"));
        assert_eq!(names(&ran), ["a", "b"]);
        let ran = run(dir.path(), &plan(dir.path(), 1), None);
        assert_eq!(names(&ran), ["b", "c", "d"]);
        assert_eq!(ran[0].1, Start::Continue);
        assert_eq!(ran[1].1, Start::Fresh);
    }

    #[test]
    fn an_interrupted_stage_whose_settings_changed_starts_fresh() {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &plan(dir.path(), 1), Some("b"));
        let ran = run(dir.path(), &plan(dir.path(), 2), None);
        assert_eq!(ran[0], ("b".to_string(), Start::Fresh));
    }

    #[test]
    fn a_stage_after_one_not_planned_before_it_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut stages = plan(dir.path(), 1);
        stages.swap(0, 2);
        let mut job = Recorder {
            ran: Vec::new(),
            fail_at: None,
        };
        assert!(run_stages(dir.path(), &stages, &mut job, &mut |_| {}).is_err());
        assert!(job.ran.is_empty());
    }

    #[test]
    fn the_manifest_records_the_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let stages = vec![Stage::new("x/y", ())
            .output(dir.path().join("x.out"))
            .command("tracealign run -o x.out")];
        run(dir.path(), &stages, None);
        let text = std::fs::read_to_string(dir.path().join(".stages/x--y")).unwrap();
        assert!(text.contains("tracealign run -o x.out"), "{text}");
    }
}
