//! `tracealign`: a thin command-line layer over the tracealign libraries.

mod args;
mod commands;
mod printer;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc keeps freed blocks for reuse: candle allocates a fresh buffer per tensor op, and
/// with glibc's allocator every buffer over its mmap threshold (attention scores, logits) is
/// mapped, page-faulted and zeroed anew — a third of a small model's training step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
