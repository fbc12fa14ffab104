//! Everything the tool prints to the terminal goes through here: errors with their causes
//! and a hint, warnings, and progress bars (hidden when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// Prints `error: ...`, one `caused by:` line per cause, then a hint when one applies.
pub fn error(error: &anyhow::Error) {
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if let Some(hint) = hint_for(error) {
        eprintln!("hint: {hint}");
    }
}

fn hint_for(error: &anyhow::Error) -> Option<&'static str> {
    let text = format!("{error:#}");
    if text.contains("cannot find a Python interpreter") {
        Some("install Python 3.8+ or point --python (or TRACEALIGN_PYTHON) at an interpreter")
    } else if text.contains("not in the problem set") {
        Some("check that --samples belongs to --problems, or pass --skip-unknown to run the rest")
    } else if text.contains("cannot tell the format") {
        Some("pass --format to say which format the file is in")
    } else {
        None
    }
}

pub fn warning(message: &str) {
    eprintln!("warning: {message}");
}

/// A progress bar on stderr; hidden when `quiet` or stderr is not a terminal.
pub fn progress(len: usize, what: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>10} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}
