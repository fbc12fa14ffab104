//! Finding the Python interpreter to run workers with.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::ExecError;

/// Resolves the real interpreter behind `python` (default `python3` on PATH). pyenv's
/// `python3` is a shell script costing ~100 ms a start; asking it once for
/// `sys.executable` lets workers start the binary directly.
pub fn resolve_python(python: Option<&Path>) -> Result<PathBuf, ExecError> {
    let program = python.unwrap_or(Path::new("python3"));
    let output = Command::new(program)
        .args([
            "-c",
            "import sys; print(sys.executable); print(sys.version_info >= (3, 8))",
        ])
        .output()
        .map_err(|e| ExecError::NoPython {
            detail: format!("`{}`: {e}", program.display()),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    match (output.status.success(), lines.next(), lines.next()) {
        (true, Some(path), Some("True")) if !path.is_empty() => Ok(PathBuf::from(path)),
        (true, Some(_), Some(_)) => Err(ExecError::NoPython {
            detail: format!("`{}` is older than Python 3.8", program.display()),
        }),
        _ => Err(ExecError::NoPython {
            detail: format!(
                "`{}` failed: {}",
                program.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        }),
    }
}
