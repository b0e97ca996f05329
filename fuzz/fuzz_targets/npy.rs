//! `.npy` arrays (the members of Keras's mnist.npz).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = nabla::data::parse_npy(data, std::path::Path::new("fuzz.npy")) {
        let _ = a.to_ints();
    }
});
