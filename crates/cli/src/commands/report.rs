//! `tracealign report DIR`: the HTML report of a pipeline or eval directory (the library's
//! `assemble_report` over what the directory holds).

use std::collections::HashSet;

use anyhow::{bail, Result};
use tracealign_core::Problem;
use tracealign_pipeline::report::{write_report, DirContents, ReportInputs};
use tracealign_pipeline::OutputLayout;

use crate::args::ReportArgs;
use crate::printer;

pub fn report(args: ReportArgs) -> Result<()> {
    let problems = args.set.load()?;
    let contents = DirContents::read(&args.dir, &problems)?;
    check_problems(&args, &problems, &contents)?;
    let inputs = ReportInputs {
        title: args.title.clone(),
        place: args.dir.display().to_string(),
        problems: &problems,
        executions: &contents.executions,
        references: &contents.references,
        faults: &contents.faults,
        truth: &contents.truth,
        evaluation: contents.evaluation.clone(),
        sft_rows: contents.sft_rows.as_deref(),
        programs: args.programs,
    };
    let output = (args.output.clone()).unwrap_or_else(|| OutputLayout::new(&args.dir).report());
    write_report(&inputs, &args.dir, &output)?;
    printer::line(format_args!("report → {}", output.display()));
    Ok(())
}

/// The runs must be of the problems given: a report of other problems' runs would show no
/// failing program at all. Some unknown ones are left out with a warning.
fn check_problems(args: &ReportArgs, problems: &[Problem], contents: &DirContents) -> Result<()> {
    let known: HashSet<&str> = problems.iter().map(|p| p.id.as_str()).collect();
    let runs = &contents.executions;
    let unknown: Vec<&str> = (runs.iter().map(|e| e.problem_id.as_str()))
        .filter(|id| !known.contains(id))
        .collect();
    let Some(first) = unknown.first() else {
        return Ok(());
    };
    let source = match &args.set.problems {
        Some(path) => path.display().to_string(),
        None => "the embedded problem set".into(),
    };
    let message = format!(
        "{} of the {} programs in {} are of problems not in {source} (e.g. `{first}`)",
        unknown.len(),
        runs.len(),
        args.dir.display()
    );
    if unknown.len() == runs.len() {
        bail!("{message}; pass the problems they were run with (--problems)");
    }
    printer::warning(&format!("{message}; they are left out of the report"));
    Ok(())
}
