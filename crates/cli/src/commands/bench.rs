//! `tracealign bench localize` and `tracealign bench suite`: the benchmarks of record
//! (`tracealign_bench`), printed and written where asked.

use anyhow::{Context, Result};
use tracealign_bench::{measure, run_suite, LocalizationBench, Suite};
use tracealign_pipeline::MutateSettings;

use crate::args::{BenchLocalizeArgs, BenchSuiteArgs};
use crate::commands::workers::{with_traced_workers, with_workers};
use crate::printer;

pub fn localize(args: BenchLocalizeArgs) -> Result<()> {
    let problems = args.set.load()?;
    let bench = LocalizationBench {
        samples: args.samples.clone(),
        mutants: MutateSettings {
            per_problem: args.per_problem,
            seed: args.seed,
        },
        mutation_budget: args.mutation_budget,
        fit: args.fit,
        cases: args.cases.clone(),
    };
    let measured = with_traced_workers(&args.exec, &args.trace_caps, args.quiet, |workers| {
        Ok(measure(&bench, &problems, workers)?)
    })?;
    for line in &measured.fit {
        printer::line(line);
    }
    printer::out(measured.table.markdown(args.samples.is_none()));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&measured.table.json())?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

pub fn suite(args: BenchSuiteArgs) -> Result<()> {
    let problems = args.set.load()?;
    let suite = Suite {
        out: args.out.clone(),
        repeats: args.repeats,
        mutants_per_problem: args.mutants_per_problem,
        mutation_budget: args.mutation_budget,
    };
    // Quiet: progress bars would be timed with the runs.
    let report = with_workers(&args.exec, true, |workers| {
        Ok(run_suite(&suite, &problems, workers)?)
    })?;
    printer::out(&report.markdown);
    let [table, json] = report.write(&args.out)?;
    printer::line(format_args!("→ {} and {}", table.display(), json.display()));
    Ok(())
}
