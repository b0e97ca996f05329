//! Which GEMM crate multiplies the MLP's matrices faster: `matrixmultiply` or `gemm`?
//!
//! The shapes are one training step of the 784-128-10 MLP at batch 32:
//! forward X·W (32×784·784×128), weight gradient Xᵀ·G (784×32·32×128), and the small
//! second layer. Run: `cargo bench --bench gemm_choice` (set MATMUL_NUM_THREADS=1 or 2 for
//! matrixmultiply's threads; `gemm` gets the same count through its parallelism argument).

use std::time::Instant;

#[path = "common/crate_gemm.rs"]
mod crate_gemm;
use crate_gemm::{crate_gemm, Case};

fn with_mm(c: &Case, a: &[f32], b: &[f32], out: &mut [f32]) {
    let (rsa, csa) = if c.a_t {
        (1, c.m as isize)
    } else {
        (c.k as isize, 1)
    };
    unsafe {
        matrixmultiply::sgemm(
            c.m,
            c.k,
            c.n,
            1.0,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            c.n as isize,
            1,
            0.0,
            out.as_mut_ptr(),
            c.n as isize,
            1,
        );
    }
}

fn with_gemm(c: &Case, a: &[f32], b: &[f32], out: &mut [f32], threads: usize) {
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    crate_gemm(c, a, b, out, parallelism);
}

/// Best mean time of a few rounds, each about 20 ms of calls.
fn time(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    f();
    let once = start.elapsed().as_secs_f64().max(1e-7);
    let reps = ((0.02 / once) as usize).clamp(1, 1000);
    for _ in 0..reps.min(200) {
        f();
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..reps {
            f();
        }
        best = best.min(start.elapsed().as_secs_f64() / reps as f64);
    }
    best
}

fn main() {
    let threads: usize = std::env::var("MATMUL_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let cases = [
        Case {
            name: "X·W      32×784·784×128",
            m: 32,
            k: 784,
            n: 128,
            a_t: false,
        },
        Case {
            name: "Xᵀ·G     784×32·32×128",
            m: 784,
            k: 32,
            n: 128,
            a_t: true,
        },
        Case {
            name: "H·W2     32×128·128×10",
            m: 32,
            k: 128,
            n: 10,
            a_t: false,
        },
        Case {
            name: "X·W  b128 128×784·784×128",
            m: 128,
            k: 784,
            n: 128,
            a_t: false,
        },
        // Convolutions as im2col GEMMs: the MNIST CNN at batch 128, LeNet-5 at batch 32.
        Case {
            name: "cnn conv1 cols·W",
            m: 86528,
            k: 9,
            n: 32,
            a_t: false,
        },
        Case {
            name: "cnn conv2 cols·W",
            m: 15488,
            k: 288,
            n: 64,
            a_t: false,
        },
        Case {
            name: "cnn conv2 colsᵀ·G",
            m: 288,
            k: 15488,
            n: 64,
            a_t: true,
        },
        Case {
            name: "cnn conv1 colsᵀ·G",
            m: 9,
            k: 86528,
            n: 32,
            a_t: true,
        },
        Case {
            name: "lenet conv1 cols·W",
            m: 25088,
            k: 75,
            n: 6,
            a_t: false,
        },
        Case {
            name: "lenet conv1 colsᵀ·G",
            m: 75,
            k: 25088,
            n: 6,
            a_t: true,
        },
        Case {
            name: "lenet conv2 cols·W",
            m: 3200,
            k: 150,
            n: 16,
            a_t: false,
        },
        Case {
            name: "lenet conv2 colsᵀ·G",
            m: 150,
            k: 3200,
            n: 16,
            a_t: true,
        },
        Case {
            name: "lenet conv2 G·Wᵀ (as G·W)",
            m: 3200,
            k: 16,
            n: 150,
            a_t: false,
        },
    ];
    println!("threads: {threads}");
    println!(
        "{:<28} {:>14} {:>14} {:>8} {:>13}",
        "product", "matrixmultiply", "gemm", "ratio", "gemm GFLOP/s"
    );
    for c in &cases {
        let a: Vec<f32> = (0..c.m * c.k).map(|i| (i % 13) as f32 * 0.01).collect();
        let b: Vec<f32> = (0..c.k * c.n).map(|i| (i % 7) as f32 * 0.02).collect();
        let mut out = vec![0.0f32; c.m * c.n];
        let t_mm = time(|| with_mm(c, &a, &b, &mut out));
        let reference = out.clone();
        let t_gemm = time(|| with_gemm(c, &a, &b, &mut out, threads));
        let max_diff = reference
            .iter()
            .zip(&out)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(max_diff < 1e-2, "the two crates disagree by {max_diff}");
        println!(
            "{:<28} {:>12.1}us {:>12.1}us {:>8.2} {:>13.0}",
            c.name,
            t_mm * 1e6,
            t_gemm * 1e6,
            t_gemm / t_mm,
            2.0 * (c.m * c.n * c.k) as f64 / t_gemm / 1e9
        );
    }
}
