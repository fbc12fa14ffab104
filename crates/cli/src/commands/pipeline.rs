//! `tracealign pipeline`: the main job (`tracealign_pipeline::main_job`), resumable stage by
//! stage, in one directory.

use std::time::Instant;

use anyhow::Result;
use tracealign_pipeline::{
    run_pipeline, MutateSettings, PipelineLayout, PipelineSettings, StageEvent, Start,
};

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
    let layout = PipelineLayout::new(&args.out);
    let bars = printer::Bars::new(args.quiet);
    let outcome = run_pipeline(&settings, &layout, &bars, &mut print_event)?;
    print!("{outcome}");
    println!(
        "pipeline finished in {:.1}s; report: {}",
        started.elapsed().as_secs_f64(),
        layout.report().display()
    );
    Ok(())
}

/// One line per stage on stderr: skipped, or how long it took.
pub fn print_event(event: StageEvent<'_>) {
    match event {
        StageEvent::UpToDate { name, index, total } => {
            eprintln!("[{}/{total}] {name:<28} up to date", index + 1)
        }
        StageEvent::Started {
            name,
            index,
            total,
            start: Start::Continue,
        } => {
            eprintln!("[{}/{total}] {name:<28} continuing", index + 1)
        }
        StageEvent::Started { .. } => {}
        StageEvent::Finished {
            name,
            index,
            total,
            seconds,
        } => {
            eprintln!("[{}/{total}] {name:<28} done in {seconds:>6.1}s", index + 1)
        }
    }
}
