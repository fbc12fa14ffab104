//! Checkpoints to resume training from: the adapter in PEFT's layout ([`crate::peft`]), the
//! optimizer's moments (`optimizer.safetensors`) and the step (`trainer_state.json`). The data
//! order is a pure function of the seed and the step, so a resumed run sees the same batches
//! as an uninterrupted one.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{io, Result, TrainError};

/// The optimizer state's file name.
pub const OPTIMIZER_STATE: &str = "optimizer.safetensors";
/// The trainer state's file name.
pub const TRAINER_STATE: &str = "trainer_state.json";

/// Where training stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer steps done.
    pub step: usize,
    /// The loss of each step done.
    pub losses: Vec<f64>,
}

/// Writes the optimizer moments and the trainer state to `dir` (the adapter is saved apart).
pub fn save_state(
    dir: &Path,
    optimizer: &HashMap<String, Tensor>,
    state: &TrainerState,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(OPTIMIZER_STATE);
    candle_core::safetensors::save(optimizer, &path).map_err(|e| TrainError::Tensor {
        path: path.clone(),
        name: "*".into(),
        message: e.to_string(),
    })?;
    let path = dir.join(TRAINER_STATE);
    let text = serde_json::to_string_pretty(state).expect("serializes");
    std::fs::write(&path, text).map_err(io(&path))
}

/// Reads what [`save_state`] wrote.
pub fn load_state(dir: &Path, device: &Device) -> Result<(HashMap<String, Tensor>, TrainerState)> {
    let path = dir.join(OPTIMIZER_STATE);
    let optimizer =
        candle_core::safetensors::load(&path, device).map_err(|e| TrainError::Tensor {
            path: path.clone(),
            name: "*".into(),
            message: e.to_string(),
        })?;
    let path = dir.join(TRAINER_STATE);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let state = serde_json::from_str(&text).map_err(|e| TrainError::Json {
        path,
        line: None,
        message: e.to_string(),
    })?;
    Ok((optimizer, state))
}
