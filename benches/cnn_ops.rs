//! Where a training step of the MNIST CNN (batch 128) and LeNet-5 (batch 32) spends its time:
//! each op's forward and backward alone, on the models' shapes, and each convolution by every
//! kernel (im2col + GEMM whole-batch and grouped, direct, Winograd's two tilings for 3x3).
//!
//! Run: `cargo bench --bench cnn_ops` (RAYON_NUM_THREADS=2 to match the PyTorch comparison);
//! `cargo bench --bench cnn_ops -- 'cnn conv2'` times only the lines whose names contain that.
//!
//! The library is built here without the tests' `poison-buffers` feature. It used to come
//! with it (a dev-dependency of the crate on itself), and every pooled buffer's NaN fill was
//! timed with the op: the MNIST CNN's first pool took 1.39-1.53 CPU ms forward against
//! 1.02, its bias+ReLU 1.65-1.70 against 1.08-1.14, the CIFAR CNN's second Winograd
//! convolution 1.36-1.45 against 1.25-1.28 (two runs each, alternating).

use nabla::autograd::{ParamStore, Tape, Var};
use nabla::ops::{self, Activation, ConvKernel, Padding};
use nabla::tensor::Tensor;
use std::time::Instant;

fn random(dims: &[usize], seed: u32) -> Tensor<f32> {
    let mut rng = nabla::random::Rng::new(seed);
    let n: usize = dims.iter().product();
    Tensor::from_vec(
        (0..n).map(|_| rng.uniform(-1.0, 1.0) as f32).collect(),
        dims,
    )
    .unwrap()
}

/// Best of 5 rounds of the mean time of `reps` runs of forward + backward of `f`.
fn time(name: &str, inputs: &[Tensor<f32>], f: impl Fn(&mut Tape<f32>, &[Var]) -> Var) {
    time_with(name, inputs, &[], f)
}

/// `time`, with the inputs listed in `constant` taking no gradient (a model's first layer
/// has none to pass back to its input).
fn time_with(
    name: &str,
    inputs: &[Tensor<f32>],
    constant: &[usize],
    f: impl Fn(&mut Tape<f32>, &[Var]) -> Var,
) {
    if !selected(name) {
        return;
    }
    let mut params = ParamStore::default();
    let mut pool = nabla::autograd::BufferPool::default();
    let mut run = |backward: bool| {
        let mut tape = Tape::with_pool(&mut params, std::mem::take(&mut pool), true);
        // Inputs copied into pooled buffers: a fresh clone would time page faults instead.
        let vars: Vec<Var> = inputs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut copy = tape.alloc(t.shape());
                copy.data_mut().copy_from_slice(t.data());
                if constant.contains(&i) {
                    tape.input(copy)
                } else {
                    tape.input_with_grad(copy)
                }
            })
            .collect();
        let y = f(&mut tape, &vars);
        if backward {
            let loss = ops::sum(&mut tape, y);
            tape.backward(loss).unwrap();
        }
        pool = tape.finish();
    };
    let mut best = [f64::MAX; 2];
    let mut best_cpu = [f64::MAX; 2];
    for (i, backward) in [false, true].into_iter().enumerate() {
        run(backward);
        for _ in 0..5 {
            let (start, cpu) = (Instant::now(), cpu_seconds());
            for _ in 0..10 {
                run(backward);
            }
            best[i] = best[i].min(start.elapsed().as_secs_f64() / 10.0);
            best_cpu[i] = best_cpu[i].min((cpu_seconds() - cpu) / 10.0);
        }
    }
    println!(
        "{name:<28} forward {:>7.2} ms ({:>7.2} ms cpu)   forward+backward {:>7.2} ms ({:>7.2} ms cpu)",
        best[0] * 1e3,
        best_cpu[0] * 1e3,
        best[1] * 1e3,
        best_cpu[1] * 1e3
    );
}

/// Whether the command line's filters (arguments not starting with `-`: cargo passes
/// `--bench`) are all in `name`.
fn selected(name: &str) -> bool {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .all(|filter| name.contains(&filter))
}

/// CPU time of this process, all threads: what the kernels cost, whatever else the shared
/// machine runs meanwhile (wall time there is mostly waiting for a core).
fn cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

fn main() {
    // Each convolution by every kernel: the one `ConvKernel::choose` picks must beat the
    // others there.
    for (label, batch, image, kernel) in [
        ("cnn conv1", 128, [28, 28, 1], [3, 3, 1, 32]),
        ("cnn conv2", 128, [13, 13, 32], [3, 3, 32, 64]),
        ("lenet conv1", 32, [32, 32, 3], [5, 5, 3, 6]),
        ("lenet conv2", 32, [14, 14, 6], [5, 5, 6, 16]),
        ("cifar cnn conv1", 32, [32, 32, 3], [3, 3, 3, 32]),
        ("cifar cnn conv2", 32, [15, 15, 32], [3, 3, 32, 64]),
        ("cifar cnn conv3", 32, [6, 6, 64], [3, 3, 64, 64]),
        // Where Winograd's F(4×4) starts to beat F(2×2): outputs of 6×6 and 8×8.
        ("6x6 out 64->64", 32, [8, 8, 64], [3, 3, 64, 64]),
        ("8x8 out 64->64", 32, [10, 10, 64], [3, 3, 64, 64]),
    ] {
        let x = random(&[batch, image[0], image[1], image[2]], 1);
        let k = random(&kernel, 2);
        for (name, algorithm) in [
            ("im2col", ConvKernel::Im2col),
            ("direct", ConvKernel::Direct),
            ("grouped", ConvKernel::Grouped),
            ("winograd", ConvKernel::Winograd),
            ("winograd 4x4", ConvKernel::Winograd4x4),
        ] {
            if algorithm.is_winograd() && kernel[..2] != [3, 3] {
                continue; // 3x3 only: anything else would time the grouped path again
            }
            let conv = move |t: &mut Tape<f32>, v: &[Var]| {
                ops::conv2d_with(t, v[0], v[1], [1, 1], Padding::Valid, algorithm).unwrap()
            };
            // A first layer (1 or 3 channels: the images) needs no gradient for its input.
            let first: &[usize] = if image[2] <= 3 { &[0] } else { &[] };
            time_with(
                &format!("{label} {name}"),
                &[x.clone(), k.clone()],
                first,
                conv,
            );
            if image[2] > 3 {
                // ∂L/∂W alone, the part of the backward the kernels compute differently.
                let label = format!("{label} {name} (dW only)");
                time_with(&label, &[x.clone(), k.clone()], &[0], conv);
            }
        }
    }
    // A whole Conv2D layer with ReLU where the direct kernel is chosen: the bias and ReLU
    // applied while each image is in cache, against the two ops one after the other; and
    // with the pooling, also where Winograd's is (the MNIST CNN's second block; its layer
    // alone takes the two ops in training either way).
    for (label, batch, image, kernel) in [
        ("cnn conv1", 128, [28, 28, 1], [3, 3, 1, 32]),
        ("cnn conv2", 128, [13, 13, 32], [3, 3, 32, 64]),
        ("lenet conv1", 32, [32, 32, 3], [5, 5, 3, 6]),
        ("lenet conv2", 32, [14, 14, 6], [5, 5, 6, 16]),
    ] {
        let x = random(&[batch, image[0], image[1], image[2]], 1);
        let (k, b) = (random(&kernel, 2), random(&kernel[3..], 3));
        let first: &[usize] = if image[2] <= 3 { &[0] } else { &[] };
        let inputs = [x, k, b];
        time_with(
            &format!("{label} +bias+relu fused"),
            &inputs,
            first,
            |t, v| {
                let (relu, valid) = (Activation::Relu, Padding::Valid);
                ops::conv2d_bias_activation(t, v[0], v[1], Some(v[2]), relu, [1, 1], valid).unwrap()
            },
        );
        time_with(
            &format!("{label} +bias+relu apart"),
            &inputs,
            first,
            |t, v| {
                let y = ops::conv2d(t, v[0], v[1], [1, 1], Padding::Valid).unwrap();
                ops::bias_activation(t, y, Some(v[2]), Activation::Relu).unwrap()
            },
        );
        // With the 2x2 max pooling after it: one op, against the layer then the pooling.
        let pool = ops::MaxPool {
            size: [2, 2],
            strides: [2, 2],
            padding: Padding::Valid,
        };
        time_with(&format!("{label} +pool fused"), &inputs, first, |t, v| {
            let (relu, valid) = (Activation::Relu, Padding::Valid);
            let (x, k, b) = (v[0], v[1], Some(v[2]));
            ops::conv2d_bias_activation_max_pool(t, x, k, b, relu, [1, 1], valid, pool).unwrap()
        });
        time_with(&format!("{label} +pool apart"), &inputs, first, |t, v| {
            let (relu, valid) = (Activation::Relu, Padding::Valid);
            let y = ops::conv2d_bias_activation(t, v[0], v[1], Some(v[2]), relu, [1, 1], valid)
                .unwrap();
            ops::max_pool2d(t, y, pool.size, pool.strides, pool.padding).unwrap()
        });
    }
    for (label, dims) in [
        ("cnn pool1", [128, 26, 26, 32]),
        ("cnn pool2", [128, 11, 11, 64]),
        ("lenet pool1", [32, 28, 28, 6]),
        ("lenet pool2", [32, 10, 10, 16]),
    ] {
        let x = random(&dims, 3);
        time(&format!("{label} max"), std::slice::from_ref(&x), |t, v| {
            ops::max_pool2d(t, v[0], [2, 2], [2, 2], Padding::Valid).unwrap()
        });
        let b = random(&[dims[3]], 4);
        time(&format!("{label} input bias+relu"), &[x, b], |t, v| {
            ops::bias_activation(t, v[0], Some(v[1]), Activation::Relu).unwrap()
        });
    }
}
