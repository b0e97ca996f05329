//! A table of malformed inputs, each with the error it must produce: a message naming the
//! file and what is wrong, never a panic.

mod data_support;

use std::path::Path;

use data_support::*;
use nabla::data::*;
use nabla::Result;

fn idx(bytes: &[u8]) -> Result<()> {
    parse_idx(bytes, Path::new("bad.idx")).map(|_| ())
}
fn cifar_bin(bytes: &[u8]) -> Result<()> {
    parse_cifar_binary(bytes, Path::new("bad.bin")).map(|_| ())
}
fn cifar_pkl(bytes: &[u8]) -> Result<()> {
    parse_cifar_pickle(bytes, Path::new("bad.pkl")).map(|_| ())
}
fn csv(bytes: &[u8]) -> Result<()> {
    let o = CsvOptions {
        class_names: Some(Dataset::digit_names(10)),
        ..Default::default()
    };
    parse_csv_bytes(bytes, &o, Path::new("bad.csv")).map(|_| ())
}
fn npy(bytes: &[u8]) -> Result<()> {
    parse_npy(bytes, Path::new("bad.npy")).map(|_| ())
}

/// A file named `name` holding `bytes`, loaded with `load`.
fn file_case(name: &str, bytes: &[u8], load: fn(&Path) -> Result<()>) -> Result<()> {
    let dir = temp_dir("malformed");
    let path = dir.path().join(name);
    write(&path, bytes);
    load(&path)
}

fn idx_header(dims: &[u32]) -> Vec<u8> {
    let mut h = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        h.extend_from_slice(&d.to_be_bytes());
    }
    h
}

fn pickle_with_data(shape: (u16, u16), labels: &[u8]) -> Vec<u8> {
    let rows = vec![0u8; shape.0 as usize * shape.1 as usize];
    let mut p = cifar_py2_pickle(&rows, labels);
    // Patch the second shape entry (3072) into the requested one.
    let at = p.windows(3).position(|w| w == b"M\x00\x0c").unwrap();
    p[at + 1..at + 3].copy_from_slice(&shape.1.to_le_bytes());
    p
}

/// Removes the second `K` label of a two-label pickle.
fn drop_second_label(mut p: Vec<u8>) -> Vec<u8> {
    let at = p.windows(5).position(|w| w == b"K\x01K\x02e").unwrap();
    p.drain(at + 2..at + 4);
    p
}

#[test]
fn malformed_inputs_give_clear_errors() {
    let good_idx = encode_idx(&[4], &[1, 2, 3, 4]).unwrap();
    let good_gz = gzip(&good_idx);
    let mut one_record = vec![0u8; 3073];
    one_record[0] = 10;
    let bin_batches = cifar_batches(false, 2);
    let full_tar = tar_gz(&bin_batches);

    let cases: Vec<(&str, Result<()>, &str)> = vec![
        ("idx: empty", idx(b""), "truncated inside its header"),
        (
            "idx: header cut",
            idx(&[0, 0, 8, 3, 0, 0]),
            "truncated inside its header",
        ),
        (
            "idx: wrong magic",
            idx(b"\x08\x03\x00\x00"),
            "not an IDX file",
        ),
        (
            "idx: float type",
            idx(&[0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0]),
            "float",
        ),
        ("idx: zero dims", idx(&[0, 0, 8, 0]), "0 dimensions"),
        ("idx: truncated data", idx(&good_idx[..10]), "truncated"),
        (
            "idx: trailing data",
            idx(&[&good_idx[..], &[9]].concat()),
            "longer than its header",
        ),
        (
            "idx: 10^12 images raw",
            idx(&idx_header(&[4_000_000_000, 500, 500])),
            "truncated",
        ),
        (
            "idx: 10^12 images gz",
            idx(&gzip(&idx_header(&[4_000_000_000, 500, 500]))),
            "more than a",
        ),
        (
            "idx: gz cut short",
            idx(&good_gz[..good_gz.len() - 12]),
            "truncated",
        ),
        (
            "idx: gz garbage",
            idx(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff]),
            "corrupt compressed data",
        ),
        ("cifar bin: empty", cifar_bin(b""), "wrong record size"),
        (
            "cifar bin: short record",
            cifar_bin(&[0; 3072]),
            "wrong record size",
        ),
        (
            "cifar bin: label 10",
            cifar_bin(&one_record),
            "label 10 of image 0 is out of range",
        ),
        ("pickle: empty", cifar_pkl(b""), "without a STOP"),
        (
            "pickle: not a pickle",
            cifar_pkl(b"xyz"),
            "unsupported opcode",
        ),
        (
            "pickle: os.system",
            cifar_pkl(b"\x80\x02cos\nsystem\n(S'ls'\ntR."),
            "refusing unknown global os.system",
        ),
        (
            "pickle: protocol 9",
            cifar_pkl(b"\x80\x09."),
            "unknown pickle protocol 9",
        ),
        (
            "pickle: huge string",
            cifar_pkl(b"\x80\x02T\xff\xff\xff\xff"),
            "truncated",
        ),
        (
            "pickle: stack underflow",
            cifar_pkl(b"\x80\x02a."),
            "stack underflow",
        ),
        (
            "pickle: no data",
            cifar_pkl(b"\x80\x02}."),
            "no 'data' array",
        ),
        (
            "pickle: memo miss",
            cifar_pkl(b"\x80\x02h\x05."),
            "memo key 5",
        ),
        (
            "pickle: wrong image size",
            cifar_pkl(&pickle_with_data((2, 100), &[1, 2])),
            "expected uint8 (n, 3072)",
        ),
        (
            "pickle: label count",
            cifar_pkl(&drop_second_label(cifar_py2_pickle(
                &[0; 2 * 3072],
                &[1, 2],
            ))),
            "1 labels for 2 images",
        ),
        (
            "pickle: label 11",
            cifar_pkl(&cifar_py2_pickle(&[0; 3072], &[11])),
            "label 11 of image 0 is out of range",
        ),
        (
            "pickle: data cut",
            cifar_pkl(&cifar_py2_pickle(&[0; 3072], &[1])[..2000]),
            "truncated",
        ),
        ("csv: empty", csv(b""), "no data rows"),
        (
            "csv: ragged",
            csv(b"1,2,3\n4,5,6\n7,8\n"),
            "line 3: 2 fields, expected 3 as on line 1",
        ),
        (
            "csv: text value",
            csv(b"1,2,3\n4,five,6\n"),
            "line 2: value \"five\"",
        ),
        (
            "csv: label out of range",
            csv(b"1,2,3\n4,5,12\n"),
            "label 12 of sample 1 is out of range",
        ),
        (
            "csv: negative label",
            csv(b"1,2,-1\n"),
            "line 1: label \"-1\"",
        ),
        (
            "csv: not utf-8",
            csv(b"1,2,3\n\xff\xfe,1,1\n"),
            "line 2: is not valid UTF-8",
        ),
        (
            "csv: gz garbage",
            csv(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff]),
            "corrupt compressed data",
        ),
        ("npy: bad magic", npy(b"PK\x03\x04"), "bad magic"),
        (
            "npy: header claims more",
            npy(&encode_npy("|u1", &[1000, 28, 28], &[0; 10])),
            "needs 784000 bytes, the file has 10",
        ),
        (
            "npy: header cut",
            npy(&encode_npy("|u1", &[1], &[0])[..30]),
            "truncated",
        ),
        (
            "mnist: label 10",
            file_case(
                "train-labels-idx1-ubyte",
                &encode_idx(&[1], &[10]).unwrap(),
                |p| load_idx_pair(p, p, &["0"; 10]).map(|_| ()),
            ),
            "expected images of 3 dimensions",
        ),
        (
            "cifar: archive cut short",
            file_case(
                "cifar-10-binary.tar.gz",
                &full_tar[..full_tar.len() / 2],
                |p| load_cifar10(p).map(|_| ()),
            ),
            "cifar-10-binary.tar.gz",
        ),
        (
            "cifar: archive without test batch",
            file_case("cifar-10-binary.tar.gz", &tar_gz(&bin_batches[..5]), |p| {
                load_cifar10(p).map(|_| ())
            }),
            "archive has no test_batch.bin",
        ),
        (
            "cifar: archive with a bad record size",
            file_case(
                "cifar-10-binary.tar.gz",
                &tar_gz(&[("data_batch_1.bin".into(), vec![0; 100])]),
                |p| load_cifar10(p).map(|_| ()),
            ),
            "data_batch_1.bin: wrong record size",
        ),
        (
            "npz: not a zip",
            file_case("mnist.npz", b"not a zip", |p| {
                load_mnist_npz(p, &["0"; 10]).map(|_| ())
            }),
            "not a readable .npz",
        ),
        (
            "npz: missing member",
            file_case(
                "mnist.npz",
                &npz(&[("x_train.npy", encode_npy("|u1", &[1, 1, 1], &[0]))]),
                |p| load_mnist_npz(p, &["0"; 10]).map(|_| ()),
            ),
            "y_train.npy",
        ),
    ];
    let mut failures = Vec::new();
    for (name, result, expected) in cases {
        match result {
            Ok(()) => failures.push(format!(
                "{name}: accepted, expected error containing {expected:?}"
            )),
            Err(e) if !e.to_string().contains(expected) => failures.push(format!(
                "{name}: error {:?} lacks {expected:?}",
                e.to_string()
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn mnist_label_errors_name_the_label_file() {
    let dir = temp_dir("malformed-mnist");
    let images = dir.path().join("train-images-idx3-ubyte");
    let labels = dir.path().join("train-labels-idx1-ubyte");
    write_idx(&images, &[2, 28, 28], &[0; 2 * 784]).unwrap();
    write_idx(&labels, &[2], &[3, 12]).unwrap();
    let names = ["0"; 10];
    let e = load_idx_pair(&images, &labels, &names)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("train-labels-idx1-ubyte") && e.contains("label 12 of sample 1"),
        "{e}"
    );
    write_idx(&labels, &[3], &[3, 1, 2]).unwrap();
    let e = load_idx_pair(&images, &labels, &names)
        .unwrap_err()
        .to_string();
    assert!(e.contains("3 labels for the 2 images"), "{e}");
}
