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

/// `mi_option_purge_delay` in mimalloc 3's option enum (`mimalloc.h`; the Rust bindings name
/// no constant for it). The test below checks the index by the documented defaults.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Never hands freed memory back to the OS: by default mimalloc purges it after a second, and
/// the next training step's 50 MB logits fault every page in again (a sixth of a SmolLM2 step).
/// Only for the commands that run a model: for `run --trace full` on HumanEval's solutions it
/// cost the other way (1.03–1.05 s against 0.82–0.85 s; tracealign's own CPU 270–290 ms
/// against 145–150 ms, half of it the kernel zeroing fresh pages for parsed traces).
fn keep_freed_memory() {
    // SAFETY: setting an option is a plain store, valid at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    if cli.command.runs_a_model() {
        keep_freed_memory();
    }
    let result = commands::dispatch(cli.command);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            printer::error(&error);
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_option_index_names_the_purge_delay() {
        // Documented defaults: purge_delay (15) = 1000 ms, use_numa_nodes (16) = 0,
        // disallow_os_alloc (17) = 0, os_tag (18) = 100.
        let get = |option| unsafe { libmimalloc_sys::mi_option_get(option) };
        assert_eq!(get(super::MI_OPTION_PURGE_DELAY + 3), 100);
        let delay = get(super::MI_OPTION_PURGE_DELAY);
        assert!(delay == 1000 || delay == -1, "purge delay {delay}");
    }
}
