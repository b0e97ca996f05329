//! CIFAR-10 binary batches: any bytes give a batch or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nabla::data::parse_cifar_binary(data, std::path::Path::new("fuzz.bin"));
});
