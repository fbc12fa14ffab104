//! Starting the executor and preparing problems, shared by every command that runs programs.

use anyhow::{bail, Result};
use tracealign_core::Problem;
use tracealign_exec::{
    resolve_python, ExecConfig, Executor, Limits, PreparedCache, PreparedProblem, TraceMode,
};

use tracealign_pipeline::{ExecSettings, Workers};

use crate::args::ExecArgs;
use crate::printer;

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

/// Prepares problems (reference results and times), through the cache unless disabled,
/// with a progress bar.
pub fn prepare(
    executor: &Executor,
    args: &ExecArgs,
    problems: &[Problem],
    quiet: bool,
) -> Result<Vec<PreparedProblem>> {
    let settings = ExecSettings {
        config: executor.config().clone(),
        cache_dir: cache_dir(args),
    };
    let bars = printer::Bars::new(quiet);
    let workers = Workers {
        settings: &settings,
        progress: &bars,
    };
    Ok(workers.prepare(executor, problems)?)
}
