//! From the flags every command that runs programs shares to the library's settings: the
//! problem set, the executor, the prepared cache; and the rule that no output is replaced
//! silently.

use std::path::Path;

use anyhow::{bail, Result};
use tracealign_core::formats::problems::ProblemFormat;
use tracealign_core::Problem;
use tracealign_exec::{resolve_python, ExecConfig, Executor, Limits, PreparedCache, TraceMode};
use tracealign_pipeline::{ExecSettings, ProblemSource, Workers};

use crate::args::{ExecArgs, FormatArg, ProblemSetArgs, TraceCapArgs};
use crate::printer;

impl ProblemSetArgs {
    pub fn source(&self) -> ProblemSource {
        ProblemSource {
            path: self.problems.clone(),
            format: self.format.map(problem_format),
        }
    }

    /// The problems, read and checked (the embedded set without --problems).
    pub fn load(&self) -> Result<Vec<Problem>> {
        Ok(self.source().load()?)
    }
}

/// The library's format for the `--format` flag.
pub fn problem_format(format: FormatArg) -> ProblemFormat {
    match format {
        FormatArg::Tracealign => ProblemFormat::Tracealign,
        FormatArg::Humaneval => ProblemFormat::HumanEval,
        FormatArg::Mbpp => ProblemFormat::Mbpp,
        FormatArg::Evalplus => ProblemFormat::EvalPlus,
    }
}

/// Refuses to replace an output file that holds something, unless `--force` said so.
pub fn refuse_to_replace(path: &Path, force: bool, resume_flag: Option<&str>) -> Result<()> {
    let holds_something = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    if force || !holds_something {
        return Ok(());
    }
    let resume = resume_flag.map_or(String::new(), |flag| format!("{flag} to continue it, "));
    bail!(
        "{} already exists and is not empty; pass {resume}--force to replace it, or choose \
         another output",
        path.display()
    )
}

/// The executor configuration the flags describe.
pub fn exec_config(args: &ExecArgs, trace: TraceMode) -> Result<ExecConfig> {
    if !(args.timeout_factor > 0.0 && args.timeout_floor > 0.0 && args.sample_timeout > 0.0) {
        bail!("--timeout-factor, --timeout-floor and --sample-timeout must be positive");
    }
    let mut config = ExecConfig::new(resolve_python(args.python.as_deref())?);
    if let Some(jobs) = args.jobs {
        if jobs == 0 {
            bail!("--jobs must be at least 1");
        }
        config.workers = jobs;
    }
    config.isolate = !args.no_isolation;
    config.trace = trace;
    config.limits = Limits {
        timeout_factor: args.timeout_factor,
        timeout_floor_s: args.timeout_floor,
        sample_budget_s: args.sample_timeout,
        memory_mb: args.memory_mb,
        ..Limits::default()
    };
    Ok(config)
}

/// The library's execution settings the flags describe (the trace mode is each step's).
pub fn exec_settings(args: &ExecArgs) -> Result<ExecSettings> {
    Ok(ExecSettings {
        config: exec_config(args, TraceMode::None)?,
        cache_dir: cache_dir(args),
    })
}

/// Runs `work` with [`Workers`] from the flags, drawing progress bars unless `quiet`.
pub fn with_workers<T>(
    args: &ExecArgs,
    quiet: bool,
    work: impl FnOnce(&Workers) -> Result<T>,
) -> Result<T> {
    with_traced_workers(args, &TraceCapArgs::default(), quiet, work)
}

/// [`with_workers`] with the trace caps, for commands that trace.
pub fn with_traced_workers<T>(
    args: &ExecArgs,
    caps: &TraceCapArgs,
    quiet: bool,
    work: impl FnOnce(&Workers) -> Result<T>,
) -> Result<T> {
    let settings = traced_exec_settings(args, caps)?;
    let bars = printer::Bars::new(quiet);
    work(&Workers {
        settings: &settings,
        progress: &bars,
    })
}

/// [`exec_settings`] with the trace caps.
pub fn traced_exec_settings(args: &ExecArgs, caps: &TraceCapArgs) -> Result<ExecSettings> {
    let mut settings = exec_settings(args)?;
    caps.apply(&mut settings.config.trace_limits);
    Ok(settings)
}

/// Where prepared problems are cached: `--cache-dir`, else the default; none with
/// `--no-cache`.
fn cache_dir(args: &ExecArgs) -> Option<std::path::PathBuf> {
    (!args.no_cache)
        .then(|| args.cache_dir.clone().or_else(PreparedCache::default_dir))
        .flatten()
}

/// Warns when programs run with less isolation than asked for.
pub fn warn_about_isolation(executor: &Executor) {
    let isolation = executor.isolation();
    for note in &isolation.notes {
        printer::warning(&format!("isolation: {note}"));
    }
}
