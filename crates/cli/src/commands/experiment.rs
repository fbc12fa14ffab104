//! `tracealign experiment`: the alignment loop on a real model (see `tracealign_experiment`
//! for its stages). Arguments → the config → `tracealign_experiment::run` → the results
//! table: `OUT/results.json`, `OUT/results.md` and `OUT/results.html` (with learning curves).
//!
//! Each stage writes into `OUT/<stage>/` and is skipped when its outputs exist and its
//! fingerprint (its settings, the identity of the files it reads, the manifests of the
//! stages before it) matches the one recorded when it finished; an interrupted stage
//! continues where it stopped.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use tracealign_experiment::{Config, Layout};

use crate::args::{ExecArgs, TraceCapArgs};
use crate::commands::workers::traced_exec_settings;
use crate::printer::{self, Bars};

#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The experiment's config (see experiment.toml at the repository root).
    #[arg(long, value_name = "FILE", default_value = "experiment.toml")]
    pub config: PathBuf,
    /// Apply the config's [quick] section: a handful of problems, few samples and steps.
    #[arg(long)]
    pub quick: bool,
    /// Output directory. Default: tracealign-experiment (tracealign-experiment-quick with
    /// --quick, so a smoke run never invalidates the full run's stages).
    #[arg(
        long = "output",
        visible_alias = "out",
        short = 'o',
        value_name = "DIR"
    )]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub exec: ExecArgs,
    #[command(flatten)]
    pub trace_caps: TraceCapArgs,
    /// No progress bars.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub fn experiment(args: ExperimentArgs) -> Result<()> {
    let started = Instant::now();
    let mut config = Config::read(&args.config)?;
    if args.quick {
        config = config.quick();
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(match args.quick {
            true => "tracealign-experiment-quick",
            false => "tracealign-experiment",
        })
    });
    let exec = traced_exec_settings(&args.exec, &args.trace_caps)?;
    let bars = Bars::new(args.quiet);
    let results = tracealign_experiment::run(&config, &out, &exec, &bars, &mut printer::stage)?;
    printer::out(results.markdown());
    printer::line(format_args!(
        "experiment finished in {:.1}s; results in {}",
        started.elapsed().as_secs_f64(),
        Layout::new(&out).results_markdown().display()
    ));
    Ok(())
}
