//! CIFAR-10 from either official distribution, archived or extracted, without Python.
//!
//! - binary (`cifar-10-binary.tar.gz` → `cifar-10-batches-bin/`): `data_batch_1.bin` ..
//!   `data_batch_5.bin`, `test_batch.bin`; each record is 1 label byte then 3072 pixel bytes,
//!   channel-major (1024 red, 1024 green, 1024 blue).
//! - Python (`cifar-10-python.tar.gz` → `cifar-10-batches-py/`, as Keras caches it):
//!   `data_batch_1` .. `data_batch_5`, `test_batch`, each a pickled dict with `data`
//!   (n × 3072 uint8, the same channel-major rows) and `labels`.
//!
//! Images come out NHWC, `[32, 32, 3]`, as Keras gives them.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;

use super::dataset::{Dataset, Features};
use super::idx::{is_gzip, stream_error};
use super::pickle::{int_values, parse_pickle, Value};
use crate::error::{Error, Result};

/// CIFAR-10's labels 0..9.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

const PIXELS: usize = 32 * 32;
const IMAGE_BYTES: usize = 3 * PIXELS;
const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// An official batch is 30.7 MB; an archive member much larger than that is not a batch.
const MAX_BATCH_BYTES: u64 = 64 << 20;

/// Which of the two official layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CifarFormat {
    Binary,
    Python,
}

impl CifarFormat {
    /// The six batch file names, the five training batches first.
    pub fn batch_names(self) -> [&'static str; 6] {
        match self {
            CifarFormat::Binary => [
                "data_batch_1.bin",
                "data_batch_2.bin",
                "data_batch_3.bin",
                "data_batch_4.bin",
                "data_batch_5.bin",
                "test_batch.bin",
            ],
            CifarFormat::Python => [
                "data_batch_1",
                "data_batch_2",
                "data_batch_3",
                "data_batch_4",
                "data_batch_5",
                "test_batch",
            ],
        }
    }

    /// The folder the official archive extracts to.
    pub fn folder(self) -> &'static str {
        match self {
            CifarFormat::Binary => "cifar-10-batches-bin",
            CifarFormat::Python => "cifar-10-batches-py",
        }
    }

    /// The official archive's file name.
    pub fn archive(self) -> &'static str {
        match self {
            CifarFormat::Binary => "cifar-10-binary.tar.gz",
            CifarFormat::Python => "cifar-10-python.tar.gz",
        }
    }
}

/// One batch: NHWC pixels and labels.
#[derive(Debug, Default)]
pub struct CifarBatch {
    pub pixels: Vec<u8>,
    pub labels: Vec<u32>,
}

/// Appends one channel-major 3072-byte image to `out` as height × width × channel.
fn chw_to_hwc(image: &[u8], out: &mut Vec<u8>) {
    let (r, rest) = image.split_at(PIXELS);
    let (g, b) = rest.split_at(PIXELS);
    for p in 0..PIXELS {
        out.extend_from_slice(&[r[p], g[p], b[p]]);
    }
}

fn check_label(label: i64, index: usize, source: &Path) -> Result<u32> {
    if (0..10).contains(&label) {
        Ok(label as u32)
    } else {
        Err(Error::format(
            source,
            format!("label {label} of image {index} is out of range: expected 0..=9"),
        ))
    }
}

/// Parses a binary batch (`data_batch_N.bin`); `source` names it in errors.
pub fn parse_cifar_binary(bytes: &[u8], source: &Path) -> Result<CifarBatch> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD_BYTES) {
        return Err(Error::format(
            source,
            format!(
                "wrong record size: {} bytes is not a whole number of {RECORD_BYTES}-byte CIFAR-10 records (1 label + 3072 pixels)",
                bytes.len()
            ),
        ));
    }
    let n = bytes.len() / RECORD_BYTES;
    let mut batch = CifarBatch {
        pixels: Vec::with_capacity(n * IMAGE_BYTES),
        labels: Vec::with_capacity(n),
    };
    for (i, rec) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        batch.labels.push(check_label(rec[0] as i64, i, source)?);
        chw_to_hwc(&rec[1..], &mut batch.pixels);
    }
    Ok(batch)
}

/// Parses a Python batch (a pickled dict); `source` names it in errors.
pub fn parse_cifar_pickle(bytes: &[u8], source: &Path) -> Result<CifarBatch> {
    let bad = |m: String| Error::format(source, m);
    let v = parse_pickle(bytes).map_err(|e| bad(format!("not a CIFAR-10 batch: {e}")))?;
    let Some(Value::Array { shape, dtype, data }) = v.get("data") else {
        return Err(bad("pickle has no 'data' array".into()));
    };
    if dtype != "u1" || shape.len() != 2 || shape[1] != IMAGE_BYTES {
        return Err(bad(format!(
            "'data' is a {dtype} array of shape {shape:?}, expected uint8 (n, {IMAGE_BYTES})"
        )));
    }
    let labels = v
        .get("labels")
        .ok_or_else(|| bad("pickle has no 'labels'".into()))?;
    let labels = int_values(labels).map_err(|e| bad(format!("'labels': {e}")))?;
    if labels.len() != shape[0] {
        return Err(bad(format!(
            "{} labels for {} images",
            labels.len(),
            shape[0]
        )));
    }
    let mut batch = CifarBatch {
        pixels: Vec::with_capacity(data.len()),
        labels: Vec::with_capacity(labels.len()),
    };
    for (i, (image, &label)) in data.chunks_exact(IMAGE_BYTES).zip(&labels).enumerate() {
        batch.labels.push(check_label(label, i, source)?);
        chw_to_hwc(image, &mut batch.pixels);
    }
    Ok(batch)
}

fn parse_batch(format: CifarFormat, bytes: &[u8], source: &Path) -> Result<CifarBatch> {
    match format {
        CifarFormat::Binary => parse_cifar_binary(bytes, source),
        CifarFormat::Python => parse_cifar_pickle(bytes, source),
    }
}

/// Loads CIFAR-10's (train, test) from an official archive, its extracted folder, or a
/// folder holding either.
pub fn load_cifar10(path: &Path) -> Result<(Dataset, Dataset)> {
    if path.is_file() {
        return load_archive(path);
    }
    for format in [CifarFormat::Binary, CifarFormat::Python] {
        if path.join(format.batch_names()[0]).is_file() {
            return load_folder(path, format);
        }
    }
    for format in [CifarFormat::Binary, CifarFormat::Python] {
        let sub = path.join(format.folder());
        if sub.join(format.batch_names()[0]).is_file() {
            return load_folder(&sub, format);
        }
        let archive = path.join(format.archive());
        if archive.is_file() {
            return load_archive(&archive);
        }
    }
    Err(Error::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no CIFAR-10 here: expected data_batch_1.bin.. or data_batch_1.. (or the folders \
             cifar-10-batches-bin / cifar-10-batches-py, or cifar-10-binary.tar.gz / \
             cifar-10-python.tar.gz)",
        ),
    ))
}

/// True when [`load_cifar10`] would find something at `path`.
pub fn has_cifar10(path: &Path) -> bool {
    [CifarFormat::Binary, CifarFormat::Python].iter().any(|f| {
        path.join(f.batch_names()[0]).is_file()
            || path.join(f.folder()).join(f.batch_names()[0]).is_file()
            || path.join(f.archive()).is_file()
    })
}

fn load_folder(dir: &Path, format: CifarFormat) -> Result<(Dataset, Dataset)> {
    let read = |name: &&str| {
        let path = dir.join(name);
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        if len > MAX_BATCH_BYTES {
            return Err(Error::format(
                &path,
                format!("{len} bytes is far larger than a CIFAR-10 batch"),
            ));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        BufReader::new(file)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(&path, e))?;
        parse_batch(format, &bytes, &path)
    };
    assemble(format.batch_names().iter().map(read))
}

/// Reads the six batches straight out of a `.tar.gz` (or plain `.tar`), never extracting.
fn load_archive(path: &Path) -> Result<(Dataset, Dataset)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; 2];
    let n = (&file).read(&mut head).map_err(|e| Error::io(path, e))?;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader: Box<dyn Read> = if is_gzip(&head[..n]) {
        Box::new(GzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut archive = tar::Archive::new(reader);
    let corrupt = |e: std::io::Error| match stream_error(path, e) {
        Error::Io { source, .. } => Error::format(path, format!("corrupt archive: {source}")),
        other => other,
    };
    let mut found: [Option<(CifarFormat, CifarBatch)>; 6] = Default::default();
    for entry in archive.entries().map_err(corrupt)? {
        let entry = entry.map_err(corrupt)?;
        let name = entry
            .path()
            .map_err(corrupt)?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let slot = [CifarFormat::Binary, CifarFormat::Python]
            .into_iter()
            .find_map(|f| {
                f.batch_names()
                    .iter()
                    .position(|&b| b == name)
                    .map(|i| (f, i))
            });
        let Some((format, i)) = slot else { continue };
        let member = path.join(&name);
        let size = entry.header().size().map_err(corrupt)?;
        if size > MAX_BATCH_BYTES {
            return Err(Error::format(
                &member,
                format!("{size} bytes is far larger than a CIFAR-10 batch"),
            ));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        entry.take(size).read_to_end(&mut bytes).map_err(corrupt)?;
        if (bytes.len() as u64) < size {
            return Err(Error::format(
                &member,
                "archive is truncated inside this member",
            ));
        }
        found[i] = Some((format, parse_batch(format, &bytes, &member)?));
    }
    let batches = found.into_iter().enumerate().map(|(i, found)| {
        found.map(|(_, batch)| batch).ok_or_else(|| {
            Error::format(
                path,
                format!(
                    "archive has no {} (or {})",
                    CifarFormat::Binary.batch_names()[i],
                    CifarFormat::Python.batch_names()[i]
                ),
            )
        })
    });
    assemble(batches)
}

/// Five training batches then the test batch → (train, test). Each training batch is
/// copied into one vector of the exact size as it comes and then freed, so the training
/// images are held once, plus a batch: collected first and appended to a vector grown by
/// doubling, they were held twice, and the last step copied 123 MB into a new 246 MB vector.
fn assemble(
    batches: impl ExactSizeIterator<Item = Result<CifarBatch>>,
) -> Result<(Dataset, Dataset)> {
    let training = batches.len().saturating_sub(1);
    let (mut train, mut test) = (CifarBatch::default(), CifarBatch::default());
    for (i, batch) in batches.enumerate() {
        let batch = batch?;
        if i == training {
            test = batch;
            continue;
        }
        if train.labels.is_empty() {
            train.pixels.reserve_exact(batch.pixels.len() * training);
            train.labels.reserve_exact(batch.labels.len() * training);
        }
        train.pixels.extend_from_slice(&batch.pixels);
        train.labels.extend_from_slice(&batch.labels);
    }
    let names: Vec<String> = CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect();
    let make = |b: CifarBatch| {
        Dataset::new(
            Features::U8(b.pixels),
            vec![32, 32, 3],
            b.labels,
            names.clone(),
        )
    };
    Ok((make(train)?, make(test)?))
}

/// Encodes images (NHWC `[n, 32, 32, 3]`) and labels as a binary batch, the official layout.
pub fn encode_cifar_binary(pixels_hwc: &[u8], labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(labels.len() * RECORD_BYTES);
    for (image, &label) in pixels_hwc.chunks_exact(IMAGE_BYTES).zip(labels) {
        out.push(label);
        for c in 0..3 {
            out.extend((0..PIXELS).map(|p| image[p * 3 + c]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_record_becomes_nhwc() {
        let mut rec = vec![7u8];
        rec.extend((0..IMAGE_BYTES).map(|i| (i / PIXELS) as u8 * 100 + (i % 3) as u8));
        let b = parse_cifar_binary(&rec, Path::new("b.bin")).unwrap();
        assert_eq!(b.labels, vec![7]);
        // Pixel 0: red = rec[1], green = rec[1 + 1024], blue = rec[1 + 2048].
        assert_eq!(
            &b.pixels[..3],
            &[rec[1], rec[1 + PIXELS], rec[1 + 2 * PIXELS]]
        );
        assert_eq!(
            encode_cifar_binary(
                &b.pixels,
                &b.labels.iter().map(|&l| l as u8).collect::<Vec<_>>()
            ),
            rec
        );
    }

    #[test]
    fn bad_records_and_labels() {
        let e = parse_cifar_binary(&[0; 3072], Path::new("b.bin"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("wrong record size"), "{e}");
        let mut rec = vec![0u8; RECORD_BYTES];
        rec[0] = 10;
        let e = parse_cifar_binary(&rec, Path::new("b.bin"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("label 10 of image 0 is out of range"), "{e}");
    }
}
