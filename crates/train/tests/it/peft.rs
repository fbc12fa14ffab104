//! The exported adapter is what PEFT expects: checked by `tests/check_peft.py` with the
//! `safetensors` package. `.ci/run` makes a venv with it and sets `TRACEALIGN_TRAIN_PYTHON`;
//! without it the test prints why it skips (with `TRACEALIGN_REQUIRE_TRAIN_PYTHON=1` it fails).

use std::path::PathBuf;
use std::process::Command;

use tracealign_train::peft::save_adapter;
use tracealign_train::{save_merged, LoadedModel};

use crate::tiny::all_targets;

fn python() -> Option<PathBuf> {
    let python = std::env::var_os("TRACEALIGN_TRAIN_PYTHON").map(PathBuf::from);
    let usable = python.as_ref().is_some_and(|p| {
        Command::new(p)
            .args(["-c", "import safetensors, numpy"])
            .status()
            .is_ok_and(|s| s.success())
    });
    if usable {
        return python;
    }
    let reason = "TRACEALIGN_TRAIN_PYTHON is not a Python with `safetensors` and `numpy`";
    if std::env::var_os("TRACEALIGN_REQUIRE_TRAIN_PYTHON").is_some_and(|v| v == "1") {
        panic!("{reason}");
    }
    eprintln!("skipped: {reason}");
    None
}

#[test]
fn the_adapter_has_peft_names_and_shapes_and_merges_as_peft_does() {
    let Some(python) = python() else { return };
    let (t, model) = crate::training::stepped_model();
    let out = tempfile::TempDir::new().unwrap();
    let adapter = out.path().join("adapter");
    let merged = out.path().join("merged");
    save_adapter(&model, &adapter, None).unwrap();
    let loaded = LoadedModel {
        model,
        tokenizer: t.loaded.tokenizer.clone(),
    };
    save_merged(&loaded, &merged).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/check_peft.py");
    let output = Command::new(python)
        .arg(script)
        .args([&adapter, t.dir.path(), &merged])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("r={}", all_targets().rank)));
}
