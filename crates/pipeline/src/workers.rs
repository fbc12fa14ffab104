//! Executors from one set of settings, problems prepared through the cache, samples run.

use std::path::PathBuf;

use tracealign_core::{Execution, Problem, Sample};
use tracealign_exec::{
    ExecConfig, ExecError, Executor, PreparedCache, PreparedProblem, TraceLimits, TraceMode,
};

use crate::progress::Progress;

/// How programs are run, whatever a step runs: the executor's settings (its `trace` is set
/// per step) and where prepared problems are cached (`None`: prepared afresh every time).
#[derive(Debug, Clone)]
pub struct ExecSettings {
    pub config: ExecConfig,
    pub cache_dir: Option<PathBuf>,
}

impl ExecSettings {
    /// Defaults for an interpreter, with the default cache directory.
    pub fn new(python: PathBuf) -> ExecSettings {
        ExecSettings {
            config: ExecConfig::new(python),
            cache_dir: PreparedCache::default_dir(),
        }
    }
}

impl ExecSettings {
    /// What of the settings changes untraced results, for stage fingerprints: the
    /// interpreter, isolation and limits (not the number of workers or the cache).
    pub fn fingerprint(&self) -> serde_json::Value {
        serde_json::json!({
            "python": self.config.python,
            "isolate": self.config.isolate,
            "limits": self.config.limits,
        })
    }

    /// The trace caps that differ from the defaults, as command-line flags.
    pub fn trace_cap_arguments(&self) -> String {
        let (caps, defaults) = (&self.config.trace_limits, TraceLimits::default());
        let mut args = String::new();
        for (flag, value, default) in [
            ("--trace-max-events", caps.max_events, defaults.max_events),
            ("--trace-max-bytes", caps.max_bytes, defaults.max_bytes),
            (
                "--trace-value-chars",
                caps.max_value_chars,
                defaults.max_value_chars,
            ),
        ] {
            if value != default {
                args.push_str(&format!(" {flag} {value}"));
            }
        }
        args
    }

    /// [`ExecSettings::fingerprint`] with the trace caps, for stages that trace.
    pub fn traced_fingerprint(&self) -> serde_json::Value {
        let mut value = self.fingerprint();
        value["trace_limits"] = serde_json::json!(self.config.trace_limits);
        value
    }
}

/// Starts executors and prepares problems for them.
pub struct Workers<'a> {
    pub settings: &'a ExecSettings,
    pub progress: &'a dyn Progress,
}

impl Workers<'_> {
    /// An executor recording `trace`.
    pub fn start(&self, trace: TraceMode) -> Result<Executor, ExecError> {
        self.start_with(trace, |_| {})
    }

    /// An executor recording `trace`, its settings adjusted by `adjust` first.
    pub fn start_with(
        &self,
        trace: TraceMode,
        adjust: impl FnOnce(&mut ExecConfig),
    ) -> Result<Executor, ExecError> {
        let mut config = self.settings.config.clone();
        config.trace = trace;
        adjust(&mut config);
        Executor::start(config)
    }

    /// Problems prepared for `executor` (reference results and times), through the cache.
    pub fn prepare(
        &self,
        executor: &Executor,
        problems: &[Problem],
    ) -> Result<Vec<PreparedProblem>, ExecError> {
        let cache = self.settings.cache_dir.as_ref().map(|dir| {
            PreparedCache::new(dir, &executor.config().python, &executor.isolation().python)
        });
        self.progress.begin("references", problems.len());
        let prepared = executor.prepare(problems, cache.as_ref(), |_| self.progress.advance());
        self.progress.end();
        prepared
    }
}

/// Runs `samples` (of `prepared` problems) on `executor`; `done` gets each execution as it
/// ends, in completion order. `label` names the phase for `progress`.
pub fn evaluate(
    executor: &Executor,
    prepared: &[PreparedProblem],
    samples: &[Sample],
    label: &str,
    progress: &dyn Progress,
    mut done: impl FnMut(Execution),
) {
    progress.begin(label, samples.len());
    executor.run(prepared, samples, |execution| {
        progress.advance();
        done(execution);
    });
    progress.end();
}
