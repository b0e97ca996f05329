//! A neural network from scratch: forward and backward by hand, no library but the RNG.
//!
//! The classic exercise: a 2-3-1 network with sigmoid activations and the loss
//! L = 1/(2N)·Σ(ŷ − y)², on data drawn exactly as numpy draws it after `np.random.seed(0)`.
//! numpy's answer is L = 0.1332476222330792. Run: `cargo run --example from_scratch`.

use nabla::random::NumpyRandomState;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[allow(clippy::needless_range_loop)] // j indexes as in the maths
fn main() -> nabla::Result<()> {
    // np.random.seed(0); W1 = randn(3, 2); b1 = zeros(3); W2 = randn(3); b2 = 0
    let mut rng = NumpyRandomState::new(0);
    let w1: Vec<[f64; 2]> = (0..3).map(|_| [rng.randn(), rng.randn()]).collect();
    let b1 = [0.0; 3];
    let w2: Vec<f64> = (0..3).map(|_| rng.randn()).collect();
    let b2 = 0.0;
    // X = rand(1000, 2); Y = randint(0, 2, size=1000)
    let x: Vec<[f64; 2]> = (0..1000)
        .map(|_| [rng.random_sample(), rng.random_sample()])
        .collect();
    let y: Vec<f64> = (0..1000).map(|_| rng.randint(0, 2) as f64).collect();
    let n = x.len() as f64;

    let mut loss = 0.0;
    let (mut d_w1, mut d_b1, mut d_w2, mut d_b2) = ([[0.0; 2]; 3], [0.0; 3], [0.0; 3], 0.0);
    for (xi, &ti) in x.iter().zip(&y) {
        // Forward pass: hidden layer h = σ(W1·x + b1), output ŷ = σ(W2·h + b2).
        let z1: Vec<f64> = (0..3)
            .map(|j| w1[j][0] * xi[0] + w1[j][1] * xi[1] + b1[j])
            .collect();
        let h: Vec<f64> = z1.iter().map(|&z| sigmoid(z)).collect();
        let z2 = (0..3).map(|j| w2[j] * h[j]).sum::<f64>() + b2;
        let y_hat = sigmoid(z2);
        loss += (y_hat - ti).powi(2) / (2.0 * n);

        // Backward pass, one chain-rule step per line.
        let d_y_hat = (y_hat - ti) / n; //                 ∂L/∂ŷ
        let d_z2 = d_y_hat * y_hat * (1.0 - y_hat); //     ∂L/∂z2 = ∂L/∂ŷ · σ'(z2)
        d_b2 += d_z2; //                                   ∂L/∂b2 = ∂L/∂z2
        for j in 0..3 {
            d_w2[j] += d_z2 * h[j]; //                     ∂L/∂W2ⱼ = ∂L/∂z2 · hⱼ
            let d_h = d_z2 * w2[j]; //                     ∂L/∂hⱼ = ∂L/∂z2 · W2ⱼ
            let d_z1 = d_h * h[j] * (1.0 - h[j]); //       ∂L/∂z1ⱼ = ∂L/∂hⱼ · σ'(z1ⱼ)
            d_b1[j] += d_z1; //                            ∂L/∂b1ⱼ = ∂L/∂z1ⱼ
            d_w1[j][0] += d_z1 * xi[0]; //                 ∂L/∂W1ⱼₖ = ∂L/∂z1ⱼ · xₖ
            d_w1[j][1] += d_z1 * xi[1];
        }
    }

    println!("L       = {loss}   (numpy: 0.1332476222330792)");
    println!("dL/dW1  = {d_w1:?}");
    println!("dL/db1  = {d_b1:?}");
    println!("dL/dW2  = {d_w2:?}");
    println!("dL/db2  = {d_b2}");

    // The same numbers from nabla's autodiff, for comparison.
    let auto = nabla::scratch::by_autodiff(&nabla::scratch::Exercise::numpy_seeded(0))?;
    println!("autodiff: L = {}, dL/db2 = {}", auto.loss, auto.grad_b2);
    Ok(())
}
