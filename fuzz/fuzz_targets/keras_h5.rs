//! A legacy Keras `.h5` model file, and Keras weights loaded into a small model, from
//! arbitrary bytes: an error or a model, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nabla::nn::layers::{Dense, Flatten};
use nabla::train::Sequential;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = nabla::io::keras::decode_h5::<f32>(data.to_vec(), Path::new("fuzz.h5"));
    let mut model = Sequential::<f32>::new(&[2, 2, 1]);
    model.add(Flatten::new()).unwrap();
    model.add(Dense::new(3)).unwrap();
    let _ = nabla::io::keras::decode_weights(&mut model, data.to_vec(), Path::new("fuzz.weights.h5"));
});
