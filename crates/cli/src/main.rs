//! `tracealign`: a thin command-line layer over the tracealign libraries.

mod args;
mod commands;
mod printer;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Run(args) => commands::run::run(args),
        args::Command::Trace(args) => commands::trace::trace(args),
        args::Command::Mutate(args) => commands::mutate::mutate(args),
        args::Command::Localize(args) => commands::localize::localize(args),
        args::Command::Show(args) => commands::show::show(args),
        args::Command::Bench(args::BenchCommand::Localize(args)) => commands::bench::localize(args),
        args::Command::Build(command) => commands::build::build(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            printer::error(&error);
            ExitCode::from(2)
        }
    }
}
