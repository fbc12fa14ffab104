//! The key/value cache of generation, for a batch whose rows may come from different prompts.
//!
//! Rows of one batch share the cache's length, so a shorter row is *left-padded*: its first
//! `pads[r]` positions hold zeros that attention masks out, and its token positions (for the
//! rotary embedding) count from the end of its padding. Rows join a running batch
//! ([`Cache::concat`]) and leave it ([`Cache::select`]) without the others being recomputed;
//! [`Cache::trim`] drops the leading positions that have become padding in every row, so a
//! long-running batch does not drag the history of rows that left it.

use candle_core::{Device, Tensor};

use crate::error::{Result, TrainError};

/// Keys and values of the positions seen so far, per layer ([batch, kv_heads, seq, head_dim]),
/// and the left padding of each batch row (empty: no row is padded).
#[derive(Debug, Clone, Default)]
pub struct Cache {
    pub(crate) layers: Vec<Option<(Tensor, Tensor)>>,
    pads: Vec<usize>,
}

impl Cache {
    /// How many positions are cached (padding included).
    pub fn len(&self) -> usize {
        match self.layers.first() {
            Some(Some((k, _))) => k.dim(2).unwrap_or(0),
            _ => 0,
        }
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many rows the cache holds (0 when empty).
    pub fn rows(&self) -> usize {
        match self.layers.first() {
            Some(Some((k, _))) => k.dim(0).unwrap_or(0),
            _ => 0,
        }
    }

    /// The left padding of row `r`.
    pub fn pad(&self, r: usize) -> usize {
        self.pads.get(r).copied().unwrap_or(0)
    }

    /// Whether some row is padded (positions and masks then differ per row).
    pub fn is_padded(&self) -> bool {
        self.pads.iter().any(|&p| p > 0)
    }

    fn device(&self) -> Option<Device> {
        match self.layers.first() {
            Some(Some((k, _))) => Some(k.device().clone()),
            _ => None,
        }
    }

    fn map(&self, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Vec<Option<(Tensor, Tensor)>>> {
        self.layers
            .iter()
            .map(|layer| match layer {
                Some((k, v)) => Ok(Some((f(k)?, f(v)?))),
                None => Ok(None),
            })
            .collect()
    }

    /// The cache of the batch rows `rows` only (samples that finished leave the batch).
    pub fn select(&self, rows: &[usize]) -> Result<Cache> {
        let Some(device) = self.device() else {
            return Ok(self.clone());
        };
        let index = Tensor::new(
            rows.iter()
                .map(|&r| r as u32)
                .collect::<Vec<_>>()
                .as_slice(),
            &device,
        )?;
        Ok(Cache {
            layers: self.map(|t| Ok(t.index_select(&index, 0)?))?,
            pads: rows.iter().map(|&r| self.pad(r)).collect(),
        })
    }

    /// The cache repeated `n` times along the batch (one prompt, many samples).
    pub fn repeat(&self, n: usize) -> Result<Cache> {
        let rows = self.rows();
        Ok(Cache {
            layers: self.map(|t| Ok(t.repeat((n, 1, 1, 1))?))?,
            pads: (0..n)
                .flat_map(|_| (0..rows).map(|r| self.pad(r)))
                .collect(),
        })
    }

    /// Every row padded on the left by `n` more positions.
    pub fn pad_left(&self, n: usize) -> Result<Cache> {
        if n == 0 || self.is_empty() {
            return Ok(self.clone());
        }
        let layers = self.map(|t| {
            let (b, h, _, d) = t.dims4()?;
            let zeros = Tensor::zeros((b, h, n, d), t.dtype(), t.device())?;
            Ok(Tensor::cat(&[&zeros, t], 2)?)
        })?;
        Ok(Cache {
            layers,
            pads: (0..self.rows()).map(|r| self.pad(r) + n).collect(),
        })
    }

    /// The rows of `self` then those of `other` in one batch, the shorter padded on the left.
    pub fn concat(&self, other: &Cache) -> Result<Cache> {
        if self.is_empty() {
            return Ok(other.clone());
        }
        if other.is_empty() {
            return Ok(self.clone());
        }
        if self.layers.len() != other.layers.len() {
            return Err(TrainError::Invalid(
                "cannot join caches of different models".into(),
            ));
        }
        let len = self.len().max(other.len());
        let (a, b) = (
            self.pad_left(len - self.len())?,
            other.pad_left(len - other.len())?,
        );
        let layers = a
            .layers
            .iter()
            .zip(&b.layers)
            .map(|pair| match pair {
                (Some((ka, va)), Some((kb, vb))) => Ok(Some((
                    Tensor::cat(&[ka, kb], 0)?,
                    Tensor::cat(&[va, vb], 0)?,
                ))),
                _ => Err(TrainError::Invalid("cannot join a partial cache".into())),
            })
            .collect::<Result<_>>()?;
        let pads = (0..a.rows())
            .map(|r| a.pad(r))
            .chain((0..b.rows()).map(|r| b.pad(r)))
            .collect();
        Ok(Cache { layers, pads })
    }

    /// Drops the leading positions that are padding in every row.
    pub fn trim(&self) -> Result<Cache> {
        let common = (0..self.rows()).map(|r| self.pad(r)).min().unwrap_or(0);
        if common == 0 {
            return Ok(self.clone());
        }
        let len = self.len();
        Ok(Cache {
            layers: self.map(|t| Ok(t.narrow(2, common, len - common)?.contiguous()?))?,
            pads: (0..self.rows()).map(|r| self.pad(r) - common).collect(),
        })
    }

    /// The rotary position of each row's next `seq` tokens: [rows, seq].
    pub(crate) fn positions(&self, batch: usize, seq: usize) -> Vec<u32> {
        let offset = self.len();
        (0..batch)
            .flat_map(|r| {
                let start = offset - self.pad(r);
                (start..start + seq).map(|p| p as u32)
            })
            .collect()
    }

    /// The additive attention mask [rows, 1, seq, len + seq] of `seq` new tokens: -inf on each
    /// row's padding and on later positions.
    pub(crate) fn mask(&self, batch: usize, seq: usize, device: &Device) -> Result<Tensor> {
        let offset = self.len();
        let total = offset + seq;
        let values: Vec<f32> = (0..batch)
            .flat_map(|r| {
                let pad = self.pad(r);
                (0..seq).flat_map(move |i| {
                    (0..total).map(move |j| {
                        if j < pad || j > i + offset {
                            f32::NEG_INFINITY
                        } else {
                            0.0
                        }
                    })
                })
            })
            .collect();
        Ok(Tensor::from_vec(values, (batch, 1, seq, total), device)?)
    }
}
