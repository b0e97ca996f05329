//! A TensorBoard event file (TFRecord-framed Event protobufs) from arbitrary bytes: an error
//! or scalars, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = nabla::io::tensorboard::read_scalars(data, Path::new("fuzz.tfevents"));
});
