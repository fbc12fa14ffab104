//! `tracealign report DIR`: the HTML report of a pipeline or eval directory (the library's
//! `assemble_report` over what the directory holds).

use anyhow::{Context, Result};
use tracealign_pipeline::report::{assemble_report, files, DirContents, ReportInputs};

use crate::args::ReportArgs;
use crate::printer;

pub fn report(args: ReportArgs) -> Result<()> {
    let problems = args.set.load()?;
    let contents = DirContents::read(&args.dir, &problems)?;
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
    let mut report = assemble_report(&inputs)?;
    report.files =
        files(&args.dir).with_context(|| format!("cannot list {}", args.dir.display()))?;
    let output = (args.output.clone()).unwrap_or_else(|| args.dir.join("report.html"));
    std::fs::write(&output, report.to_html())
        .with_context(|| format!("cannot write {}", output.display()))?;
    printer::line(format_args!("report → {}", output.display()));
    Ok(())
}
