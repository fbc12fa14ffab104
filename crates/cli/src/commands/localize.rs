//! `tracealign localize`: a fault report for every program of a runs file (the library's
//! `localize` step, written as JSON Lines).

use anyhow::{anyhow, Context, Result};
use tracealign_core::formats::faults::write_faults;
use tracealign_core::formats::runs::read_runs;
use tracealign_localize::Method;
use tracealign_pipeline::LocalizeSettings;

use crate::args::LocalizeArgs;
use crate::commands::workers::{refuse_to_replace, traced_exec_settings};
use crate::printer;

pub fn localize(args: LocalizeArgs) -> Result<()> {
    refuse_to_replace(&args.output, args.force, None)?;
    let method = parse_method(&args.method)?;
    let executions = read_runs(&args.runs)?;
    let problems = args.set.load()?;
    let settings = LocalizeSettings {
        method,
        mutation_budget: args.mutation_budget,
        exec: traced_exec_settings(&args.exec, &args.trace_caps)?,
    };
    let failing = executions.iter().filter(|e| !e.passed).count();
    if settings.mutation_budget > 0
        && failing > 0
        && matches!(method, Method::Mutation | Method::Combined)
    {
        printer::note(format_args!(
            "running up to {} mutants of each of {failing} failing programs for mutation-based \
             evidence (the slow part; --mutation-budget 0 skips it)",
            settings.mutation_budget
        ));
    }
    let bars = printer::Bars::new(args.quiet);
    let reports = tracealign_pipeline::localize(&settings, &problems, &executions, &bars)
        .with_context(|| format!("cannot localize {}", args.runs.display()))?;
    let written = write_faults(&args.output, &reports)?;
    printer::line(format_args!(
        "{written} fault reports ({failing} failing programs, method {}) → {}",
        method.name(),
        args.output.display()
    ));
    Ok(())
}

/// The method a name stands for, or an error listing the names.
pub fn parse_method(name: &str) -> Result<Method> {
    Method::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
        anyhow!(
            "unknown localization method `{name}`: expected one of {}",
            names.join(", ")
        )
    })
}
