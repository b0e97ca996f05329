//! IDX files (MNIST, Fashion-MNIST): a tiny header of dimensions, then raw bytes.
//!
//! Layout: `00 00 <type> <ndims>`, then `ndims` big-endian u32 sizes, then the data.
//! Only unsigned bytes (type 0x08) occur in the image datasets, so only they are read.
//! The header is checked against the size of the file before anything is allocated, and a
//! gzip stream is never decompressed past the size its header promises (so a gzip bomb costs
//! nothing).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::error::{Error, Result};

/// An n-dimensional array of bytes read from an IDX file.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Deflate cannot compress better than about 1032:1; a header promising more than this many
/// bytes per compressed byte is lying, and is refused before allocating.
const MAX_GZIP_RATIO: u64 = 1100;

/// True when `bytes` start with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Reads an IDX file, raw or gzip-compressed (detected from its first bytes, not its name).
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let stored_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut reader = BufReader::new(file);
    let gz = is_gzip(reader.fill_buf().map_err(|e| Error::io(path, e))?);
    if gz {
        decode(GzDecoder::new(reader), Stored::Gzip(stored_len), path)
    } else {
        decode(reader, Stored::Raw(stored_len), path)
    }
}

/// Parses IDX bytes held in memory (raw or gzip); `source` names them in errors.
pub fn parse_idx(bytes: &[u8], source: &Path) -> Result<IdxArray> {
    if is_gzip(bytes) {
        decode(
            GzDecoder::new(bytes),
            Stored::Gzip(bytes.len() as u64),
            source,
        )
    } else {
        decode(bytes, Stored::Raw(bytes.len() as u64), source)
    }
}

/// How the IDX bytes are stored, and how many bytes that is.
#[derive(Clone, Copy)]
enum Stored {
    Raw(u64),
    Gzip(u64),
}

fn decode<R: Read>(mut r: R, stored: Stored, path: &Path) -> Result<IdxArray> {
    let mut magic = [0u8; 4];
    read_header(&mut r, &mut magic, path)?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(Error::format(
            path,
            format!(
                "not an IDX file: it starts with bytes {:02x} {:02x}, not 00 00",
                magic[0], magic[1]
            ),
        ));
    }
    if magic[2] != 0x08 {
        let kind = match magic[2] {
            0x09 => "signed byte",
            0x0B => "short",
            0x0C => "int",
            0x0D => "float",
            0x0E => "double",
            _ => "unknown",
        };
        return Err(Error::format(
            path,
            format!(
                "IDX data type 0x{:02x} ({kind}) is not supported: only unsigned bytes (0x08) are",
                magic[2]
            ),
        ));
    }
    let ndims = magic[3] as usize;
    if ndims == 0 {
        return Err(Error::format(path, "IDX header has 0 dimensions"));
    }
    let mut dims = Vec::with_capacity(ndims);
    let mut payload: u64 = 1;
    for _ in 0..ndims {
        let mut d = [0u8; 4];
        read_header(&mut r, &mut d, path)?;
        let d = u32::from_be_bytes(d) as u64;
        payload = payload.saturating_mul(d);
        dims.push(d as usize);
    }
    let header_len = 4 + 4 * ndims as u64;
    match stored {
        Stored::Raw(len) => {
            let have = len.saturating_sub(header_len);
            if have != payload {
                let what = if have < payload {
                    "truncated"
                } else {
                    "longer than its header says"
                };
                return Err(Error::format(
                    path,
                    format!(
                        "IDX file is {what}: dimensions {dims:?} need {payload} data bytes, the file has {have}"
                    ),
                ));
            }
        }
        Stored::Gzip(len) => {
            if payload > len.saturating_mul(MAX_GZIP_RATIO) + 4096 {
                return Err(Error::format(
                    path,
                    format!(
                        "IDX header claims dimensions {dims:?} ({payload} bytes), more than a {len}-byte gzip file can hold"
                    ),
                ));
            }
        }
    }
    let payload = usize::try_from(payload)
        .map_err(|_| Error::format(path, format!("IDX dimensions {dims:?} are too large")))?;
    let mut data = vec![0u8; payload];
    let mut limited = r.take(payload as u64 + 1);
    let got = read_full(&mut limited, &mut data, path)?;
    if got < payload {
        return Err(Error::format(
            path,
            format!("IDX file is truncated: dimensions {dims:?} need {payload} data bytes, it has {got}"),
        ));
    }
    let mut extra = [0u8; 1];
    if read_full(&mut limited, &mut extra, path)? > 0 {
        return Err(Error::format(
            path,
            format!("IDX file is longer than its header says: dimensions {dims:?} need {payload} data bytes, there are more"),
        ));
    }
    Ok(IdxArray { dims, data })
}

fn read_header<R: Read>(r: &mut R, buf: &mut [u8], path: &Path) -> Result<()> {
    if read_full(r, buf, path)? < buf.len() {
        return Err(Error::format(
            path,
            "IDX file is truncated inside its header",
        ));
    }
    Ok(())
}

/// Reads until `buf` is full or the stream ends; returns how many bytes were read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8], path: &Path) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(stream_error(path, e)),
        }
    }
    Ok(got)
}

/// gzip decoding errors are format errors (the file is bad), not I/O trouble.
pub(crate) fn stream_error(path: &Path, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
            Error::format(path, format!("corrupt compressed data: {e}"))
        }
        std::io::ErrorKind::UnexpectedEof => {
            Error::format(path, format!("compressed data is truncated: {e}"))
        }
        _ => Error::io(path, e),
    }
}

/// Encodes an unsigned-byte IDX array.
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Result<Vec<u8>> {
    if dims.is_empty() || dims.len() > 255 {
        return Err(Error::invalid(format!(
            "an IDX array needs 1 to 255 dimensions, not {}",
            dims.len()
        )));
    }
    if dims.iter().any(|&d| d > u32::MAX as usize) {
        return Err(Error::invalid(format!(
            "IDX dimensions {dims:?} do not fit in u32"
        )));
    }
    let n: usize = dims.iter().product();
    if n != data.len() {
        return Err(Error::invalid(format!(
            "IDX dimensions {dims:?} need {n} bytes, got {}",
            data.len()
        )));
    }
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&[0, 0, 0x08, dims.len() as u8]);
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    Ok(out)
}

/// Writes an unsigned-byte IDX file (via a temporary name, then rename).
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8]) -> Result<()> {
    let bytes = encode_idx(dims, data)?;
    write_atomic(path, &bytes)
}

/// Writes a gzip-compressed unsigned-byte IDX file, as MNIST is distributed.
pub fn write_idx_gz(path: &Path, dims: &[usize], data: &[u8]) -> Result<()> {
    let bytes = encode_idx(dims, data)?;
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(&bytes).map_err(|e| Error::io(path, e))?;
    let gz = enc.finish().map_err(|e| Error::io(path, e))?;
    write_atomic(path, &gz)
}

/// Writes `bytes` to a temporary sibling of `path`, then renames it into place, so a reader
/// never sees half a file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_sibling(path);
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// `dir/.name.<pid>.part`: unique per process, hidden, next to the final file.
pub(crate) fn temp_sibling(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.part", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("test.idx")
    }

    #[test]
    fn round_trip_raw_and_gz() {
        let data: Vec<u8> = (0..24).collect();
        let raw = encode_idx(&[2, 3, 4], &data).unwrap();
        let a = parse_idx(&raw, p()).unwrap();
        assert_eq!(a.dims, vec![2, 3, 4]);
        assert_eq!(a.data, data);
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&raw).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(parse_idx(&gz, p()).unwrap(), a);
    }

    #[test]
    fn huge_header_fails_fast() {
        // 10^12 images of 28x28 in a 16-byte file.
        let mut raw = vec![0, 0, 8, 3];
        raw.extend_from_slice(&1_000_000_000u32.to_be_bytes());
        raw.extend_from_slice(&28u32.to_be_bytes());
        raw.extend_from_slice(&28u32.to_be_bytes());
        let e = parse_idx(&raw, p()).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&raw).unwrap();
        let gz = enc.finish().unwrap();
        let e = parse_idx(&gz, p()).unwrap_err().to_string();
        assert!(e.contains("more than a"), "{e}");
    }

    #[test]
    fn gzip_with_extra_data_is_refused() {
        let mut raw = encode_idx(&[4], &[1, 2, 3, 4]).unwrap();
        raw.extend_from_slice(&[0; 100]);
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&raw).unwrap();
        let gz = enc.finish().unwrap();
        let e = parse_idx(&gz, p()).unwrap_err().to_string();
        assert!(e.contains("longer than its header"), "{e}");
    }

    #[test]
    fn other_types_are_named() {
        let e = parse_idx(&[0, 0, 0x0D, 1, 0, 0, 0, 0], p())
            .unwrap_err()
            .to_string();
        assert!(e.contains("float"), "{e}");
    }
}
