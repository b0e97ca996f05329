//! A `.keras` zip (config.json + model.weights.h5) from arbitrary bytes: an error or a model,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = nabla::io::keras::decode_keras::<f32>(data, Path::new("fuzz.keras"));
});
