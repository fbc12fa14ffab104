//! `tracealign mutate`: killed single-fault mutants of the reference solutions, as samples
//! (the library's `kill_mutants` step).

use std::collections::BTreeMap;

use anyhow::Result;
use tracealign_core::formats::samples::write_samples;
use tracealign_exec::TraceMode;
use tracealign_pipeline::{kill_mutants, MutateSettings};

use crate::args::MutateArgs;
use crate::commands::workers::{refuse_to_replace, warn_about_isolation, with_workers};
use crate::printer;

pub fn mutate(args: MutateArgs) -> Result<()> {
    refuse_to_replace(&args.output, args.force, None)?;
    let problems = args.set.load()?;
    let mutate = MutateSettings {
        per_problem: args.per_problem,
        seed: args.seed,
    };
    let killed = with_workers(&args.exec, args.quiet, |workers| {
        let executor = workers.start(TraceMode::None)?;
        warn_about_isolation(&executor);
        let prepared = workers.prepare(&executor, &problems)?;
        Ok(kill_mutants(
            &executor,
            &prepared,
            &problems,
            mutate,
            workers.progress,
        ))
    })?;
    write_samples(&args.output, killed.iter().map(|(s, _)| s))?;
    let mut per_operator: BTreeMap<&str, usize> = BTreeMap::new();
    for fault in killed.iter().filter_map(|(s, _)| s.mutation.as_ref()) {
        *per_operator.entry(&fault.operator).or_default() += 1;
    }
    printer::line(format_args!(
        "{} killed mutants of {} problems → {}",
        killed.len(),
        problems.len(),
        args.output.display()
    ));
    for (operator, count) in per_operator {
        printer::line(format_args!("  {operator:<16} {count:>5}"));
    }
    Ok(())
}
