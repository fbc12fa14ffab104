//! The tracer's renderings of values, and that tracing runs none of the program's code
//! (a `__repr__` that raises, prints, loops or changes state; a class named `list`; a
//! metaclass's `__eq__`; replaced builtins): with every Python here, sys.settrace's front
//! end on 3.11 and sys.monitoring's on 3.12+. See renderings.py.

use std::path::Path;
use std::process::Command;

/// The Pythons to check: python3 and pyenv's 3.11, 3.12 and 3.13, one of each version.
fn pythons() -> Vec<String> {
    let mut candidates = vec!["python3".to_string()];
    if let Ok(entries) = std::fs::read_dir("/root/.pyenv/versions") {
        for entry in entries.flatten() {
            for name in ["python3.11", "python3.12", "python3.13"] {
                candidates.push(entry.path().join("bin").join(name).display().to_string());
            }
        }
    }
    let mut versions = Vec::new();
    let mut found = Vec::new();
    for python in candidates {
        let Ok(output) = Command::new(&python)
            .args([
                "-c",
                "import sys; assert sys.version_info >= (3, 11); print(sys.version_info[:2])",
            ])
            .output()
        else {
            continue;
        };
        if output.status.success() && !versions.contains(&output.stdout) {
            versions.push(output.stdout);
            found.push(python);
        }
    }
    found
}

#[test]
fn values_render_without_running_the_programs_code() {
    let pythons = pythons();
    if pythons.is_empty() {
        println!("skipped: no Python 3.11+ here");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for python in &pythons {
        let output = Command::new(python)
            .arg(dir.join("tests/renderings.py"))
            .arg(dir.join("src/tracer.py"))
            .output()
            .expect("run python");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stdout.contains(": 0 differences"),
            "{python} renderings.py failed:\n{stdout}\n{stderr}"
        );
        println!("{}", stdout.trim());
    }
}
