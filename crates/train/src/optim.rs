//! AdamW (Loshchilov & Hutter) with its moments kept in the open so checkpoints can save and
//! restore them (candle-nn's `AdamW` hides them), a linear warm-up + cosine decay schedule, and
//! gradient clipping by global norm.

use std::collections::HashMap;

use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// AdamW's hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Decoupled weight decay. Default: 0 (as PEFT's LoRA recipes).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// The optimizer over named variables.
#[derive(Debug)]
pub struct AdamW {
    pub config: AdamWConfig,
    vars: Vec<(String, Var)>,
    /// First and second moments by variable name.
    moments: HashMap<String, (Tensor, Tensor)>,
    /// Updates made so far (bias correction).
    pub steps: usize,
}

impl AdamW {
    /// An optimizer with zero moments.
    pub fn new(vars: Vec<(String, Var)>, config: AdamWConfig) -> Result<AdamW> {
        let mut moments = HashMap::new();
        for (name, var) in &vars {
            let zeros = var.zeros_like()?;
            moments.insert(name.clone(), (zeros.clone(), zeros));
        }
        Ok(AdamW {
            config,
            vars,
            moments,
            steps: 0,
        })
    }

    /// One update with learning rate `lr` from `grads` (by variable name; an absent gradient
    /// leaves its variable unchanged).
    pub fn step(&mut self, grads: &HashMap<String, Tensor>, lr: f64) -> Result<()> {
        self.steps += 1;
        let c = self.config;
        let correction1 = 1.0 - c.beta1.powi(self.steps as i32);
        let correction2 = 1.0 - c.beta2.powi(self.steps as i32);
        for (name, var) in &self.vars {
            let Some(grad) = grads.get(name) else {
                continue;
            };
            let (m, v) = self
                .moments
                .get_mut(name)
                .expect("moments exist for every var");
            *m = ((&*m * c.beta1)? + (grad * (1.0 - c.beta1))?)?;
            *v = ((&*v * c.beta2)? + (grad.sqr()? * (1.0 - c.beta2))?)?;
            let m_hat = (&*m / correction1)?;
            let v_hat = (&*v / correction2)?;
            let update = (m_hat / (v_hat.sqrt()? + c.eps)?)?;
            let decayed = (var.as_tensor() * (1.0 - lr * c.weight_decay))?;
            var.set(&(decayed - (update * lr)?)?)?;
        }
        Ok(())
    }

    /// The moments as named tensors (`NAME.m`, `NAME.v`), for a checkpoint.
    pub fn state(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        for (name, (m, v)) in &self.moments {
            out.insert(format!("{name}.m"), m.clone());
            out.insert(format!("{name}.v"), v.clone());
        }
        out
    }

    /// Restores moments saved by [`AdamW::state`] after `steps` updates.
    pub fn restore(&mut self, state: &HashMap<String, Tensor>, steps: usize) -> Result<()> {
        for (name, moments) in self.moments.iter_mut() {
            let get = |suffix: &str| {
                state
                    .get(&format!("{name}.{suffix}"))
                    .cloned()
                    .ok_or_else(|| {
                        crate::TrainError::Invalid(format!(
                            "the optimizer state lacks `{name}.{suffix}`"
                        ))
                    })
            };
            *moments = (get("m")?, get("v")?);
        }
        self.steps = steps;
        Ok(())
    }
}

/// Linear warm-up to `peak` over `warmup` steps, then cosine decay to `peak·min_ratio` at `total`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub peak: f64,
    pub warmup: usize,
    pub total: usize,
    /// Default: 0.1.
    pub min_ratio: f64,
}

impl Schedule {
    /// The learning rate of 0-based `step`.
    pub fn lr(&self, step: usize) -> f64 {
        if step < self.warmup {
            return self.peak * (step + 1) as f64 / self.warmup as f64;
        }
        let span = self.total.saturating_sub(self.warmup).max(1);
        let progress = ((step - self.warmup) as f64 / span as f64).min(1.0);
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        self.peak * (self.min_ratio + (1.0 - self.min_ratio) * cosine)
    }
}

/// Adds the gradients `store` holds for `vars` into `grads` (a micro-batch's share of an
/// accumulated step).
pub fn accumulate(
    grads: &mut HashMap<String, Tensor>,
    store: &candle_core::backprop::GradStore,
    vars: &[(String, Var)],
) -> Result<()> {
    for (name, var) in vars {
        if let Some(grad) = store.get(var.as_tensor()) {
            let sum = match grads.remove(name) {
                Some(acc) => (acc + grad)?,
                None => grad.clone(),
            };
            grads.insert(name.clone(), sum);
        }
    }
    Ok(())
}

/// The global L2 norm of `grads`.
pub fn global_norm(grads: &HashMap<String, Tensor>) -> Result<f64> {
    let mut sum = 0.0;
    for grad in grads.values() {
        sum += grad.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
    }
    Ok(sum.sqrt())
}

/// Scales `grads` down so their global norm is at most `max_norm`; returns the norm before.
pub fn clip_grad_norm(grads: &mut HashMap<String, Tensor>, max_norm: f64) -> Result<f64> {
    let norm = global_norm(grads)?;
    if norm > max_norm && norm > 0.0 {
        let factor = max_norm / norm;
        for grad in grads.values_mut() {
            *grad = (&*grad * factor)?;
        }
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_the_floor() {
        let s = Schedule {
            peak: 1.0,
            warmup: 2,
            total: 10,
            min_ratio: 0.1,
        };
        assert!((s.lr(0) - 0.5).abs() < 1e-12);
        assert!((s.lr(1) - 1.0).abs() < 1e-12);
        assert!((s.lr(2) - 1.0).abs() < 1e-12);
        assert!(s.lr(6) < s.lr(3));
        assert!((s.lr(10) - 0.1).abs() < 1e-12);
    }
}
