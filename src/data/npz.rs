//! Keras's cached `mnist.npz` (`~/.keras/datasets/mnist.npz`), read without numpy, so a
//! machine that once ran `keras.datasets.mnist.load_data()` needs no download.
//!
//! An `.npz` is a zip of `.npy` files; each `.npy` is a magic string, a small header that is
//! a Python dict literal (`{'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), }`)
//! and the raw array.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::dataset::{Dataset, Features};
use crate::error::{Error, Result};

/// An array read from a `.npy`: its shape, dtype string and raw bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub descr: String,
    pub data: Vec<u8>,
}

impl NpyArray {
    /// Elements as i64 for the integer types labels come in.
    pub fn to_ints(&self) -> std::result::Result<Vec<i64>, String> {
        let size = match self.descr.as_str() {
            "|u1" | "|i1" | "<u1" | "<i1" => 1,
            "<u2" | "<i2" => 2,
            "<u4" | "<i4" => 4,
            "<u8" | "<i8" => 8,
            d => return Err(format!("unsupported label type {d:?}")),
        };
        let signed = self.descr.contains('i');
        Ok(self
            .data
            .chunks_exact(size)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..size].copy_from_slice(c);
                if signed && c[size - 1] & 0x80 != 0 {
                    b[size..].fill(0xff);
                }
                i64::from_le_bytes(b)
            })
            .collect())
    }
}

/// Parses the header of a `.npy` file: returns (descr, fortran_order, shape, header length).
fn parse_npy_header(
    bytes: &[u8],
) -> std::result::Result<(String, bool, Vec<usize>, usize), String> {
    if !bytes.starts_with(b"\x93NUMPY") || bytes.len() < 10 {
        return Err("not a .npy array (bad magic)".into());
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(".npy header is truncated".into());
            }
            (
                u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
                12,
            )
        }
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let end = start
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or(".npy header is truncated")?;
    let text = std::str::from_utf8(&bytes[start..end]).map_err(|_| ".npy header is not text")?;
    let field = |key: &str| -> std::result::Result<&str, String> {
        let at = text
            .find(&format!("'{key}'"))
            .ok_or(format!(".npy header has no '{key}'"))?;
        let rest = &text[at + key.len() + 2..];
        let rest = rest
            .trim_start()
            .strip_prefix(':')
            .ok_or(".npy header is malformed")?;
        Ok(rest.trim_start())
    };
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or("'descr' is not a simple type string")?
        .to_string();
    let fortran = field("fortran_order")?.starts_with("True");
    let shape_text = field("shape")?;
    let shape_text = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("'shape' is not a tuple")?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad size {s:?} in 'shape'"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((descr, fortran, shape, end))
}

/// Parses a whole `.npy` held in memory; `source` names it in errors.
pub fn parse_npy(bytes: &[u8], source: &Path) -> Result<NpyArray> {
    let (descr, fortran, shape, header) =
        parse_npy_header(bytes).map_err(|e| Error::format(source, e))?;
    if fortran && shape.len() > 1 {
        return Err(Error::format(
            source,
            "Fortran-ordered arrays are not supported",
        ));
    }
    let itemsize: usize = descr
        .get(2..)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::format(source, format!("unsupported dtype {descr:?}")))?;
    let need = shape
        .iter()
        .try_fold(itemsize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::format(source, format!("shape {shape:?} is too large")))?;
    let have = bytes.len() - header;
    if need != have {
        return Err(Error::format(
            source,
            format!("array of shape {shape:?} ({descr}) needs {need} bytes, the file has {have}"),
        ));
    }
    Ok(NpyArray {
        shape,
        descr,
        data: bytes[header..].to_vec(),
    })
}

/// Reads member `name` of an open zip, refusing one larger than `max` bytes before reading.
fn read_member<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    max: u64,
    path: &Path,
) -> Result<NpyArray> {
    let member = path.join(name);
    let mut f = zip
        .by_name(name)
        .map_err(|e| Error::format(path, format!("{name}: {e}")))?;
    let size = f.size();
    if size > max {
        return Err(Error::format(
            &member,
            format!("{size} bytes is more than the whole archive could hold"),
        ));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    (&mut f)
        .take(size + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::format(&member, format!("corrupt archive member: {e}")))?;
    if bytes.len() as u64 != size {
        return Err(Error::format(
            &member,
            "archive member size does not match its header",
        ));
    }
    parse_npy(&bytes, &member)
}

/// Loads (train, test) from a Keras-style `mnist.npz` (also Fashion-MNIST saved the same
/// way), naming classes with `class_names`.
pub fn load_mnist_npz(path: &Path, class_names: &[&str]) -> Result<(Dataset, Dataset)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| Error::format(path, format!("not a readable .npz (zip) file: {e}")))?;
    // Deflate tops out near 1032:1; a member claiming more than that is corrupt or hostile.
    let max = len.saturating_mul(1100) + 4096;
    let names: Vec<String> = class_names.iter().map(|s| s.to_string()).collect();
    let mut part = |x: &str, y: &str| -> Result<Dataset> {
        let xa = read_member(&mut zip, x, max, path)?;
        let ya = read_member(&mut zip, y, max, path)?;
        let xp = path.join(x);
        let yp = path.join(y);
        if xa.descr != "|u1" || xa.shape.len() != 3 {
            return Err(Error::format(
                &xp,
                format!(
                    "expected uint8 images (n, rows, cols), found {} of shape {:?}",
                    xa.descr, xa.shape
                ),
            ));
        }
        if ya.shape != [xa.shape[0]] {
            return Err(Error::format(
                &yp,
                format!("labels of shape {:?} for {} images", ya.shape, xa.shape[0]),
            ));
        }
        let labels = ya.to_ints().map_err(|e| Error::format(&yp, e))?;
        let labels = labels
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                if l >= 0 && (l as usize) < names.len() {
                    Ok(l as u32)
                } else {
                    Err(Error::format(
                        &yp,
                        format!(
                            "label {l} of sample {i} is out of range: expected 0..={}",
                            names.len().saturating_sub(1)
                        ),
                    ))
                }
            })
            .collect::<Result<Vec<u32>>>()?;
        Dataset::new(
            Features::U8(xa.data),
            vec![xa.shape[1], xa.shape[2], 1],
            labels,
            names.clone(),
        )
    };
    let train = part("x_train.npy", "y_train.npy")?;
    let test = part("x_test.npy", "y_test.npy")?;
    Ok((train, test))
}

/// Encodes an array as `.npy` version 1.0, as numpy writes it (header padded to 64 bytes).
pub fn encode_npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip() {
        let bytes = encode_npy(
            "<i8",
            &[3],
            &[
                1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff,
            ],
        );
        assert_eq!(bytes.iter().position(|&b| b == b'\n').unwrap() % 64, 63);
        let a = parse_npy(&bytes, Path::new("y.npy")).unwrap();
        assert_eq!(a.shape, vec![3]);
        assert_eq!(a.to_ints().unwrap(), vec![1, 2, -1]);
    }

    #[test]
    fn npy_size_is_checked() {
        let mut bytes = encode_npy("|u1", &[1_000_000, 28, 28], &[]);
        bytes.push(0);
        let e = parse_npy(&bytes, Path::new("x.npy"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs 784000000 bytes, the file has 1"), "{e}");
    }
}
