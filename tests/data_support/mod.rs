//! Writers for small files in the official layouts, shared by the data tests.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

/// A fresh temporary folder, removed when dropped.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("nabla-{tag}-"))
        .tempdir()
        .unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// `n` CIFAR images as official channel-major rows (3072 bytes each), distinct per `seed`.
pub fn cifar_rows(n: usize, seed: usize) -> Vec<u8> {
    (0..n * 3072)
        .map(|i| ((i * 31 + seed * 7) % 253) as u8)
        .collect()
}

pub fn cifar_labels(n: usize, seed: usize) -> Vec<u8> {
    (0..n).map(|i| ((i + seed) % 10) as u8).collect()
}

/// A binary batch: per record, the label then the 3072 channel-major pixels.
pub fn cifar_binary_batch(rows: &[u8], labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (row, &l) in rows.chunks_exact(3072).zip(labels) {
        out.push(l);
        out.extend_from_slice(row);
    }
    out
}

/// A Python batch byte for byte as Python 2's cPickle (protocol 2) writes the official
/// files: `{'data': ndarray uint8 (n, 3072), 'labels': [..], 'batch_label': '..'}`.
pub fn cifar_py2_pickle(rows: &[u8], labels: &[u8]) -> Vec<u8> {
    let n = labels.len() as u16;
    let mut p =
        b"\x80\x02}q\x01(U\x04dataq\x02cnumpy.core.multiarray\n_reconstruct\nq\x03".to_vec();
    p.extend_from_slice(b"cnumpy\nndarray\nq\x04K\x00\x85U\x01b\x87Rq\x05(K\x01M");
    p.extend_from_slice(&n.to_le_bytes());
    p.extend_from_slice(b"M\x00\x0c\x86cnumpy\ndtype\nq\x06U\x02u1K\x00K\x01\x87Rq\x07");
    p.extend_from_slice(b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T");
    p.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    p.extend_from_slice(rows);
    p.extend_from_slice(b"tbq\x08U\x06labelsq\x09]q\x0a(");
    for &l in labels {
        p.push(b'K');
        p.push(l);
    }
    p.extend_from_slice(b"eU\x0bbatch_labelq\x0bU\x07fixtureq\x0cu.");
    p
}

/// A `.tar.gz` holding `files` (name, bytes).
pub fn tar_gz(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    gzip(&builder.into_inner().unwrap())
}

/// The six CIFAR batches (5 train of `n` images, 1 test of `n`), as (file name, bytes).
pub fn cifar_batches(python: bool, n: usize) -> Vec<(String, Vec<u8>)> {
    let names = if python {
        [
            "data_batch_1",
            "data_batch_2",
            "data_batch_3",
            "data_batch_4",
            "data_batch_5",
            "test_batch",
        ]
    } else {
        [
            "data_batch_1.bin",
            "data_batch_2.bin",
            "data_batch_3.bin",
            "data_batch_4.bin",
            "data_batch_5.bin",
            "test_batch.bin",
        ]
    };
    names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let rows = cifar_rows(n, k);
            let labels = cifar_labels(n, k);
            let bytes = if python {
                cifar_py2_pickle(&rows, &labels)
            } else {
                cifar_binary_batch(&rows, &labels)
            };
            (name.to_string(), bytes)
        })
        .collect()
}

/// A zip of `.npy` members, deflated as numpy's `savez_compressed` does.
pub fn npz(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}
