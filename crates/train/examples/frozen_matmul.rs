//! How fast the frozen base weights multiply on this CPU in each form the trainer could keep
//! them (a benchmark, not a test): f32 (what it keeps), bf16 and f16 (candle's half types),
//! and quantized as in the GGUF (Q4_1, Q8_0) through candle's `QMatMul`. Shapes are
//! SmolLM2-135M's projections; rows are one decoding step (1), a decoding batch (16) and a
//! training sequence or prompt (512). Prints one Markdown table: ms per call and GFLOP/s.
//!
//! `cargo run --release -p tracealign-train --example frozen_matmul [REPEATS]`

use std::time::Instant;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// (name, in, out) of SmolLM2-135M's linear layers.
const SHAPES: [(&str, usize, usize); 3] = [
    ("q/o 576→576", 576, 576),
    ("gate/up 576→1536", 576, 1536),
    ("down 1536→576", 1536, 576),
];
const ROWS: [usize; 3] = [1, 16, 512];

/// One way of holding W: how to multiply x [rows, in] by it.
enum Form {
    Dense(Tensor, DType),
    Quantized(QMatMul),
}

impl Form {
    fn new(weight: &Tensor, name: &str) -> candle_core::Result<Form> {
        Ok(match name {
            "f32" => Form::Dense(weight.t()?.contiguous()?, DType::F32),
            "bf16" => Form::Dense(
                weight.to_dtype(DType::BF16)?.t()?.contiguous()?,
                DType::BF16,
            ),
            "f16" => Form::Dense(weight.to_dtype(DType::F16)?.t()?.contiguous()?, DType::F16),
            "q4_1" => Form::Quantized(QMatMul::from_qtensor(QTensor::quantize(
                weight,
                GgmlDType::Q4_1,
            )?)?),
            _ => Form::Quantized(QMatMul::from_qtensor(QTensor::quantize(
                weight,
                GgmlDType::Q8_0,
            )?)?),
        })
    }

    /// x W^T with an f32 result, as the model needs it.
    fn multiply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Form::Dense(w_t, DType::F32) => x.matmul(w_t),
            Form::Dense(w_t, dtype) => x.to_dtype(*dtype)?.matmul(w_t)?.to_dtype(DType::F32),
            Form::Quantized(q) => q.forward(x),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let repeats: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let forms = ["f32", "bf16", "f16", "q4_1", "q8_0"];
    println!(
        "| shape | rows | {} |",
        forms.map(|f| format!("{f} ms (GFLOP/s)")).join(" | ")
    );
    println!("|---|---:|{}", "---:|".repeat(forms.len()));
    for (name, input, output) in SHAPES {
        let weight = (Tensor::randn(0f32, 1.0, (output, input), &Device::Cpu)? * 0.05)?;
        for rows in ROWS {
            let x = Tensor::randn(0f32, 1.0, (rows, input), &Device::Cpu)?;
            let mut cells = Vec::new();
            for form in forms {
                let form = Form::new(&weight, form)?;
                form.multiply(&x)?; // warm-up
                let started = Instant::now();
                for _ in 0..repeats {
                    form.multiply(&x)?;
                }
                let seconds = started.elapsed().as_secs_f64() / repeats as f64;
                let gflops = 2.0 * (rows * input * output) as f64 / seconds / 1e9;
                cells.push(format!("{:.3} ({gflops:.1})", seconds * 1e3));
            }
            println!("| {name} | {rows} | {} |", cells.join(" | "));
        }
    }
    Ok(())
}
