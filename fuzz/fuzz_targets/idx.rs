//! IDX parsing (raw and gzip) must return an error, never panic or over-allocate.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nabla::data::parse_idx(data, std::path::Path::new("fuzz.idx"));
});
