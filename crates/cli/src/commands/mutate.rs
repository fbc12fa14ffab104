//! `tracealign mutate`: killed single-fault mutants of the reference solutions, as samples.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, Result};
use tracealign_exec::{Executor, TraceMode};

use crate::args::MutateArgs;
use crate::commands::mutants::killed_mutants;
use crate::commands::run::problem_set;
use crate::commands::workers::{exec_config, prepare, warn_about_isolation};

pub fn mutate(args: MutateArgs) -> Result<()> {
    let problems = problem_set(args.problems.as_deref(), args.format)?;
    let executor = Executor::start(exec_config(&args.exec, TraceMode::None)?)?;
    warn_about_isolation(&executor);
    let prepared = prepare(&executor, &args.exec, &problems, args.quiet)?;
    let killed = killed_mutants(
        &executor,
        &prepared,
        &problems,
        args.per_problem,
        args.seed,
        args.quiet,
    );
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&args.output)
            .with_context(|| format!("cannot create {}", args.output.display()))?,
    );
    let mut per_operator: BTreeMap<String, usize> = BTreeMap::new();
    for (sample, _) in &killed {
        serde_json::to_writer(&mut out, sample)?;
        out.write_all(b"\n")?;
        if let Some(fault) = &sample.mutation {
            *per_operator.entry(fault.operator.clone()).or_default() += 1;
        }
    }
    out.flush()
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "{} killed mutants of {} problems → {}",
        killed.len(),
        problems.len(),
        args.output.display()
    );
    for (operator, count) in per_operator {
        println!("  {operator:<16} {count:>5}");
    }
    Ok(())
}
