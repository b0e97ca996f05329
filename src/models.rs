//! The architectures the labs use, as layer lists ready for `Sequential::from_configs`.

use crate::nn::layers::{Dense, Flatten};
use crate::nn::LayerConfig;
use crate::ops::Activation;

/// Flatten → Dense(h, activation) for each hidden size → Dense(classes, softmax).
/// `l2` puts a λ·Σw² penalty on every kernel.
pub fn mlp(hidden: &[usize], activation: Activation, classes: usize, l2: f64) -> Vec<LayerConfig> {
    let mut layers = vec![LayerConfig::from(Flatten::new())];
    for &units in hidden {
        layers.push(Dense::new(units).activation(activation).l2(l2).into());
    }
    layers.push(
        Dense::new(classes)
            .activation(Activation::Softmax)
            .l2(l2)
            .into(),
    );
    layers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Sequential;

    /// Parameter counts as Keras's `model.summary()` reports them.
    #[test]
    fn mlp_parameter_counts_equal_keras() {
        for (hidden, expected) in [
            (vec![128, 64], 109_386),
            (vec![64, 64], 55_050),
            (vec![128], 101_770),
        ] {
            let layers = mlp(&hidden, Activation::Relu, 10, 0.0);
            let model = Sequential::<f32>::from_configs(&[28, 28, 1], &layers, 0).unwrap();
            assert_eq!(model.count_params(), (expected, 0), "hidden {hidden:?}");
            assert!(model
                .summary()
                .contains(&format!("Total params: {expected} (")));
        }
    }
}
