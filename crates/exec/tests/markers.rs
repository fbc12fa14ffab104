//! The tracer's statement markers (coverage on Python 3.11, where there is no
//! sys.monitoring) against sys.settrace itself, in a real Python 3.11: same lines, same
//! outcomes and tracebacks, same full-mode events. See markers.py.

use std::path::Path;
use std::process::Command;

/// A Python 3.11, if this machine has one (the markers are used on 3.11 only).
fn python311() -> Option<String> {
    let mut candidates = vec!["python3.11".to_string(), "python3".to_string()];
    if let Ok(entries) = std::fs::read_dir("/root/.pyenv/versions") {
        for entry in entries.flatten() {
            let path = entry.path().join("bin").join("python3.11");
            candidates.push(path.to_string_lossy().to_string());
        }
    }
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import sys; assert sys.version_info[:2] == (3, 11)"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn statement_markers_give_what_settrace_gives() {
    let Some(python) = python311() else {
        println!("skipped: no Python 3.11 here (the markers are used on 3.11 only)");
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(&python)
        .arg(dir.join("tests/markers.py"))
        .arg(dir.join("src/tracer.py"))
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{python} markers.py failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" 0 differences"), "{stdout}");
}
