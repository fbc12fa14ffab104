//! Everything the tool prints to the terminal goes through here: errors with their causes
//! and a hint, warnings, and progress bars (hidden when stderr is not a terminal).

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use tracealign_pipeline::{Progress, StageEvent, Start};

/// Prints `error: ...`, one `caused by:` line per cause, then a hint when one applies.
pub fn error(error: &anyhow::Error) {
    eprintln!("error: {error}");
    let mut said = error.to_string();
    for cause in error.chain().skip(1) {
        // Errors that name their source in their own message need not repeat it.
        let text = cause.to_string();
        if !said.contains(&text) {
            eprintln!("  caused by: {text}");
        }
        said = text;
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

/// Writes results to stdout. A reader that went away (`tracealign show F | head`) ends the
/// program quietly, as the end of the output it wanted, instead of an error.
pub fn out(text: impl std::fmt::Display) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = write!(stdout, "{text}").and_then(|()| stdout.flush()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {error}");
        std::process::exit(2);
    }
}

/// [`out`], then a line break.
pub fn line(text: impl std::fmt::Display) {
    out(format_args!("{text}\n"));
}

/// A note on what is happening (resuming, where a result went), on stderr.
pub fn note(text: impl std::fmt::Display) {
    eprintln!("{text}");
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
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} eta {eta} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}

/// Library steps' progress as bars, one phase at a time.
pub struct Bars {
    quiet: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl Bars {
    pub fn new(quiet: bool) -> Bars {
        Bars {
            quiet,
            current: Mutex::new(None),
        }
    }

    fn with_bar(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        f(&mut self.current.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

impl Progress for Bars {
    fn begin(&self, label: &str, total: usize) {
        self.with_bar(|bar| *bar = Some(progress(total, label, self.quiet)));
    }

    fn advance(&self) {
        self.with_bar(|bar| bar.iter().for_each(|b| b.inc(1)));
    }

    fn end(&self) {
        self.with_bar(|bar| bar.take().iter().for_each(ProgressBar::finish_and_clear));
    }
}

/// One line per stage of a job on stderr: `[i/n] name   up to date`, `… continuing` (an
/// interrupted run of the same stage) or `… done in 12.3s`.
pub fn stage(event: StageEvent<'_>) {
    let label = |name: &str, index: usize, total: usize| format!("[{}/{total}] {name}", index + 1);
    match event {
        StageEvent::UpToDate { name, index, total } => {
            eprintln!("{:<44} up to date", label(name, index, total));
        }
        StageEvent::Started {
            name,
            index,
            total,
            start: Start::Continue,
        } => eprintln!("{:<44} continuing", label(name, index, total)),
        StageEvent::Started { .. } => {}
        StageEvent::Finished {
            name,
            index,
            total,
            seconds,
        } => eprintln!("{:<44} done in {seconds:>6.1}s", label(name, index, total)),
    }
}
