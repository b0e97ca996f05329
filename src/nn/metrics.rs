//! Accuracy as Keras's `"accuracy"` resolves it: categorical (argmax) for several outputs,
//! binary (threshold 0.5) for one.

use crate::tensor::Float;

/// Number of rows of `pred` that match their dense `targets`.
pub fn count_correct<T: Float>(pred: &[T], targets: &[T], width: usize) -> usize {
    if width == 1 {
        let half = T::of(0.5);
        return pred
            .iter()
            .zip(targets)
            .filter(|(&p, &t)| (p > half) == (t > half))
            .count();
    }
    pred.chunks(width)
        .zip(targets.chunks(width))
        .filter(|(p, t)| argmax(p) == argmax(t))
        .count()
}

/// Index of the largest value; the first one on ties, like numpy.
pub fn argmax<T: Float>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categorical_and_binary_accuracy() {
        let pred = [0.1f32, 0.7, 0.2, 0.5, 0.3, 0.2];
        let targets = [0.0f32, 1.0, 0.0, 0.0, 0.0, 1.0];
        assert_eq!(count_correct(&pred, &targets, 3), 1);
        let pred = [0.9f32, 0.2, 0.6];
        let targets = [1.0f32, 0.0, 0.0];
        assert_eq!(count_correct(&pred, &targets, 1), 2);
    }
}
