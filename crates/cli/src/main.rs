//! `tracealign`: a thin command-line layer over the tracealign libraries.

mod args;
mod commands;
mod printer;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let result = commands::dispatch(cli.command);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            printer::error(&error);
            ExitCode::from(2)
        }
    }
}
