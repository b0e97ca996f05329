//! Datasets: loaders for the labs' formats and the built-in MNIST sample.
//!
//! Every parser checks sizes against its input before allocating and reports a bad file as
//! an error naming it, never a panic: these readers face files from anywhere.

mod csv;
mod dataset;
mod idx;
mod image;
mod mnist;
mod sample;
mod split;
mod standardize;

pub use csv::{parse_csv, parse_csv_bytes, read_csv, CsvOptions, LabelColumn};
pub use dataset::{Dataset, Features, Transform};
pub use idx::{encode_idx, is_gzip, parse_idx, read_idx, write_idx, write_idx_gz, IdxArray};
pub use image::{read_png, Image};
pub use mnist::{
    has_idx_files, load_fashion_mnist_dir, load_idx_dir, load_idx_pair, load_mnist_dir,
    FASHION_MNIST_CLASSES, MNIST_FILES,
};
pub use sample::{mnist_sample, MNIST_SAMPLE_CSV_GZ, SAMPLE_TEST_PER_CLASS};
pub use split::{split_indices, stratified_split_indices};
pub use standardize::{fit_standardize, standardize};
