//! Deterministic robustness stress: thousands of mutated and random inputs through every
//! parser; each must return Ok or Err, never panic. (The cargo-fuzz targets in `fuzz/` do the
//! same with coverage guidance; this runs in every `cargo test`.)

mod data_support;

use std::path::Path;

use data_support::*;
use nabla::data::*;

/// xorshift64*: a tiny deterministic generator, so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four random edits: flip a bit, set a byte to an edge value, truncate, insert,
/// duplicate or delete a range.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = v.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = [0, 1, 0x7f, 0x80, 0xff, b'\n', b',', b'('][rng.below(8)];
            }
            2 => v.truncate(rng.below(len + 1)),
            3 => {
                let i = rng.below(len + 1);
                let extra: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
                v.splice(i..i, extra);
            }
            4 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64)).min(len);
                let chunk = v[a..b].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            5 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64)).min(len);
                v.drain(a..b);
            }
            _ => {
                // Big-endian or little-endian u32 at a random place: sizes are the usual liars.
                if len >= 4 {
                    let i = rng.below(len - 3);
                    let x = [0u32, 1, 3072, 0x7fff_ffff, u32::MAX][rng.below(5)];
                    v[i..i + 4].copy_from_slice(&x.to_be_bytes());
                }
            }
        }
    }
    v
}

/// Feeds `iterations` mutants of each seed, plus as many random strings, to `parse`.
fn stress(name: &str, seeds: &[Vec<u8>], iterations: usize, parse: impl Fn(&[u8])) -> usize {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    let mut runs = 0;
    for seed in seeds {
        parse(seed);
        for _ in 0..iterations {
            parse(&mutate(&mut rng, seed));
            runs += 1;
        }
    }
    for _ in 0..iterations {
        let n = rng.below(256);
        let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        parse(&bytes);
        runs += 1;
    }
    eprintln!("{name}: {runs} inputs, no panic");
    runs
}

const N: usize = 5000;

#[test]
fn idx_never_panics() {
    let raw = encode_idx(&[3, 4, 5], &[7; 60]).unwrap();
    let seeds = vec![
        raw.clone(),
        gzip(&raw),
        encode_idx(&[10], &[1; 10]).unwrap(),
    ];
    stress("idx", &seeds, N, |b| {
        let _ = parse_idx(b, Path::new("s"));
    });
}

#[test]
fn cifar_binary_never_panics() {
    let seeds = vec![cifar_binary_batch(&cifar_rows(2, 1), &[3, 9])];
    stress("cifar_binary", &seeds, N, |b| {
        let _ = parse_cifar_binary(b, Path::new("s"));
    });
}

#[test]
fn pickle_never_panics() {
    let mut seeds = vec![cifar_py2_pickle(&cifar_rows(1, 0), &[4])];
    for proto in [2, 4, 5] {
        seeds.push(std::fs::read(format!("tests/fixtures/cifar_py3_protocol{proto}.pkl")).unwrap());
    }
    stress("pickle", &seeds, N, |b| {
        let _ = parse_pickle(b);
        let _ = parse_cifar_pickle(b, Path::new("s"));
    });
}

#[test]
fn csv_never_panics() {
    let text = b"a,b,c,label\n1,2,3,0\n4,5.5,6,1\n7,8,9,2\n".to_vec();
    let seeds = vec![text.clone(), gzip(&text)];
    let options = [
        CsvOptions::default(),
        CsvOptions {
            label: LabelColumn::Name("label".into()),
            has_header: true,
            sample_shape: Some(vec![3, 1]),
            ..Default::default()
        },
        CsvOptions {
            label: LabelColumn::Index(1),
            class_names: Some(vec!["x".into(), "y".into()]),
            ..Default::default()
        },
    ];
    stress("csv", &seeds, N, |b| {
        for o in &options {
            let _ = parse_csv_bytes(b, o, Path::new("s"));
        }
    });
}

#[test]
fn npy_never_panics() {
    let seeds = vec![
        encode_npy("|u1", &[2, 3], &[1; 6]),
        encode_npy("<i8", &[2], &[1; 16]),
    ];
    stress("npy", &seeds, N, |b| {
        if let Ok(a) = parse_npy(b, Path::new("s")) {
            let _ = a.to_ints();
        }
    });
}
