//! The pickle reader and the CIFAR batch built on it: errors only, never a panic, a hang or
//! unbounded memory.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nabla::data::parse_pickle(data);
    let _ = nabla::data::parse_cifar_pickle(data, std::path::Path::new("fuzz.pkl"));
});
