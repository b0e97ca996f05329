//! How `nabla::tensor::gemm` shares a product between threads (fixed blocks of the output,
//! one gemm-crate call each) against the gemm crate's own threading of the whole product,
//! on the MLPs' training shapes, with 2 threads each.
//!
//! The two alternate in short rounds, many times, and the table gives each one's median
//! rate and the median of the per-round ratios, so that another process taking a core for a
//! while slows both alike. Run: `cargo bench --bench gemm_threads` (`THREADS=4` for more).

use nabla::tensor::{gemm, Transpose};
use std::time::Instant;

#[path = "common/crate_gemm.rs"]
mod crate_gemm;
use crate_gemm::{crate_gemm, Case};

const fn case(name: &'static str, m: usize, k: usize, n: usize, a_t: bool) -> Case {
    Case { name, m, k, n, a_t }
}

/// The gemm crate threading the whole product, as `gemm` did before it cut the output
/// itself: on every thread from 4M multiply-adds, else on one.
fn crate_threads(c: &Case, a: &[f32], b: &[f32], out: &mut [f32], threads: usize) {
    let parallelism = if c.m * c.n * c.k >= 1 << 22 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    crate_gemm(c, a, b, out, parallelism);
}

/// Seconds per call over a round of about 10 ms.
fn round(reps: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..reps {
        f();
    }
    start.elapsed().as_secs_f64() / reps as f64
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let threads: usize = std::env::var("THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    let cases = [
        case("784-128-10 X·W, batch 32", 32, 784, 128, false),
        case("784-128-10 Xᵀ·G, batch 32", 784, 32, 128, true),
        case("784-128-64-10 X·W, 128", 128, 784, 128, false),
        case("784-128-64-10 Xᵀ·G, 128", 784, 128, 128, true),
        case("784-500-300-10 X·W1, 128", 128, 784, 500, false),
        case("784-500-300-10 Xᵀ·G1, 128", 784, 128, 500, true),
        case("784-500-300-10 H·W2, 128", 128, 500, 300, false),
        case("CIFAR MLP X·W1, batch 64", 64, 3072, 512, false),
        case("CIFAR MLP Xᵀ·G1, batch 64", 3072, 64, 512, true),
        case("CIFAR MLP X·W1, predict 1000", 1000, 3072, 512, false),
    ];
    println!("threads: {threads}; GFLOP/s, median of 25 alternating rounds");
    println!(
        "{:<30} {:>12} {:>12} {:>8}",
        "product", "crate's", "nabla's", "ratio"
    );
    pool.install(|| {
        for c in &cases {
            let a: Vec<f32> = (0..c.m * c.k).map(|i| (i % 13) as f32 * 0.01).collect();
            let b: Vec<f32> = (0..c.k * c.n).map(|i| (i % 7) as f32 * 0.02).collect();
            let (mut old, mut new) = (vec![0.0f32; c.m * c.n], vec![0.0f32; c.m * c.n]);
            let a_t = if c.a_t { Transpose::Yes } else { Transpose::No };
            let mut run_old = || crate_threads(c, &a, &b, &mut old, threads);
            let mut run_new = || gemm(c.m, c.n, c.k, &a, a_t, &b, Transpose::No, &mut new, false);
            let once = round(3, &mut run_new);
            let reps = ((0.01 / once) as usize).max(1);
            let (mut t_old, mut t_new, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..25 {
                let (o, n) = (round(reps, &mut run_old), round(reps, &mut run_new));
                t_old.push(o);
                t_new.push(n);
                ratios.push(o / n);
            }
            let max_diff = old
                .iter()
                .zip(&new)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(max_diff < 1e-2, "the two disagree by {max_diff}");
            let flops = 2.0 * (c.m * c.n * c.k) as f64 / 1e9;
            println!(
                "{:<30} {:>12.1} {:>12.1} {:>8.2}",
                c.name,
                flops / median(t_old),
                flops / median(t_new),
                median(ratios)
            );
        }
    });
}
