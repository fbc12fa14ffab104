//! `tracealign report DIR`: the HTML report of a pipeline or eval directory (the library's
//! `assemble_report` over what the directory holds).

use anyhow::Result;
use tracealign_pipeline::report::{write_report, DirContents, ReportInputs};
use tracealign_pipeline::OutputLayout;

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
    let output = (args.output.clone()).unwrap_or_else(|| OutputLayout::new(&args.dir).report());
    write_report(&inputs, &args.dir, &output)?;
    printer::line(format_args!("report → {}", output.display()));
    Ok(())
}
