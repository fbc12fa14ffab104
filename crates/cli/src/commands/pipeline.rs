//! `tracealign pipeline`: the main job (`tracealign_pipeline::main_job`), resumable stage by
//! stage, in one directory.

use std::time::Instant;

use anyhow::Result;
use tracealign_pipeline::{run_pipeline, MutateSettings, OutputLayout, PipelineSettings};

use crate::args::PipelineArgs;
use crate::commands::workers::traced_exec_settings;
use crate::printer;

pub fn pipeline(args: PipelineArgs) -> Result<()> {
    let started = Instant::now();
    let mut settings = PipelineSettings::new(traced_exec_settings(&args.exec, &args.trace_caps)?);
    settings.problems = args.set.source();
    settings.samples = args.samples.clone();
    settings.tokenizer = args.tokenizer.clone();
    settings.mutants = MutateSettings {
        per_problem: args.mutants_per_problem,
        seed: 0,
    };
    settings.mutation_budget = args.mutation_budget;
    let layout = OutputLayout::new(&args.out);
    let bars = printer::Bars::new(args.quiet);
    let outcome = run_pipeline(&settings, &layout, &bars, &mut printer::stage)?;
    printer::out(&outcome);
    printer::line(format_args!(
        "pipeline finished in {:.1}s; report: {}",
        started.elapsed().as_secs_f64(),
        layout.report().display()
    ));
    Ok(())
}
