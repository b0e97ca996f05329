//! Datasets: loaders for the labs' formats, the built-in MNIST sample, downloads into a
//! checked cache, and the preprocessing that must be fitted on training data only.
//!
//! Every parser checks sizes against its input before allocating and reports a bad file as
//! an error naming it, never a panic: these readers face files from anywhere. Each parser
//! also accepts plain bytes (`parse_*`), which is what the fuzz targets feed.

mod cifar;
mod csv;
mod dataset;
mod download;
mod idx;
mod image;
mod load;
mod mnist;
mod npz;
mod pickle;
mod resolve;
mod sample;
mod split;
mod standardize;

pub use cifar::{
    encode_cifar_binary, has_cifar10, load_cifar10, parse_cifar_binary, parse_cifar_pickle,
    CifarBatch, CifarFormat, CIFAR10_CLASSES,
};
pub use csv::{parse_csv, parse_csv_bytes, read_csv, CsvOptions, LabelColumn};
pub use dataset::{Dataset, Features, Transform};
pub use download::{
    cache_dir, download, fetch_files, fetch_source, manual_instructions, sha256_file, RemoteFile,
    Source, CIFAR10_SOURCE, FASHION_MNIST_SOURCE, MNIST_SOURCE,
};
pub use idx::{encode_idx, is_gzip, parse_idx, read_idx, write_idx, write_idx_gz, IdxArray};
pub use image::{read_png, Image};
pub use load::{DataConfig, DataSource, Scaling, Splits, StandardizeFit, DEBIAN_FASHION_MNIST};
pub use mnist::{
    has_idx_files, load_fashion_mnist_dir, load_idx_dir, load_idx_pair, load_mnist_dir,
    FASHION_MNIST_CLASSES, MNIST_FILES,
};
pub use npz::{encode_npy, load_mnist_npz, parse_npy, NpyArray};
pub use pickle::{parse_pickle, Value as PickleValue};
pub use resolve::{from_keras_cache, keras_datasets_dir, resolve, DatasetName, ResolveOptions};
pub use sample::{mnist_sample, MNIST_SAMPLE_CSV_GZ, SAMPLE_TEST_PER_CLASS};
pub use split::{split_indices, stratified_split_indices};
pub use standardize::{fit_standardize, standardize};
