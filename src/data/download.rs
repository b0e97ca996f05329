//! Fetching the official dataset files into a cache, each checked against its published
//! SHA-256 before it is used.
//!
//! A download goes to a temporary name next to its destination, is hashed as it streams, and
//! is renamed into place only when the hash matches; on a mismatch it is deleted. So the cache
//! never holds a partial or corrupted file under a real name. With `offline`, or when the
//! network fails, the error lists exactly which files to put where.

use std::fs::File;
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::idx::temp_sibling;
use crate::error::{Error, Result};

/// A file to fetch: its name (appended to the source's base URL) and published SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteFile<'a> {
    pub name: &'a str,
    pub sha256: &'a str,
}

/// Where a dataset's official files live.
#[derive(Clone, Copy, Debug)]
pub struct Source {
    /// Human name, for messages.
    pub name: &'static str,
    /// Sub-folder of the cache directory.
    pub folder: &'static str,
    pub base_url: &'static str,
    pub files: &'static [RemoteFile<'static>],
}

/// MNIST's four gzip IDX files, from the mirror TensorFlow uses.
pub const MNIST_SOURCE: Source = Source {
    name: "MNIST",
    folder: "mnist",
    base_url: "https://storage.googleapis.com/cvdf-datasets/mnist/",
    files: &[
        RemoteFile {
            name: "train-images-idx3-ubyte.gz",
            sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        },
        RemoteFile {
            name: "train-labels-idx1-ubyte.gz",
            sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        },
        RemoteFile {
            name: "t10k-images-idx3-ubyte.gz",
            sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        },
        RemoteFile {
            name: "t10k-labels-idx1-ubyte.gz",
            sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
    ],
};

/// Fashion-MNIST's four gzip IDX files, from the bucket Keras uses.
pub const FASHION_MNIST_SOURCE: Source = Source {
    name: "Fashion-MNIST",
    folder: "fashion-mnist",
    base_url: "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    files: &[
        RemoteFile {
            name: "train-images-idx3-ubyte.gz",
            sha256: "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        },
        RemoteFile {
            name: "train-labels-idx1-ubyte.gz",
            sha256: "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        },
        RemoteFile {
            name: "t10k-images-idx3-ubyte.gz",
            sha256: "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        },
        RemoteFile {
            name: "t10k-labels-idx1-ubyte.gz",
            sha256: "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        },
    ],
};

/// CIFAR-10's binary archive from its authors' site (170 MB).
pub const CIFAR10_SOURCE: Source = Source {
    name: "CIFAR-10",
    folder: "cifar-10",
    base_url: "https://www.cs.toronto.edu/~kriz/",
    files: &[RemoteFile {
        name: "cifar-10-binary.tar.gz",
        sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    }],
};

/// The cache root: `$NABLA_DATA`, else the platform's cache directory + `nabla`
/// (`$XDG_CACHE_HOME/nabla` or `~/.cache/nabla`; `~/Library/Caches/nabla` on macOS;
/// `%LOCALAPPDATA%\nabla` on Windows).
pub fn cache_dir() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = var("NABLA_DATA") {
        return d;
    }
    if cfg!(windows) {
        if let Some(d) = var("LOCALAPPDATA") {
            return d.join("nabla");
        }
    }
    if cfg!(target_os = "macos") {
        if let Some(h) = var("HOME") {
            return h.join("Library").join("Caches").join("nabla");
        }
    }
    if let Some(d) = var("XDG_CACHE_HOME") {
        return d.join("nabla");
    }
    match var("HOME").or_else(|| var("USERPROFILE")) {
        Some(h) => h.join(".cache").join("nabla"),
        None => PathBuf::from(".nabla-data"),
    }
}

/// Lower-case hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Downloads `url` to `dest`, keeping it only if its SHA-256 is `sha256`.
pub fn download(url: &str, dest: &Path, sha256: &str, progress: bool) -> Result<()> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(20))
        .timeout_read(Duration::from_secs(60))
        .build();
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Status(code, _) => Error::invalid(format!(
            "could not download {url}: server answered HTTP {code}"
        )),
        ureq::Error::Transport(t) => Error::invalid(format!("could not download {url}: {t}")),
    })?;
    let total: Option<u64> = response
        .header("Content-Length")
        .and_then(|v| v.parse().ok());
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = temp_sibling(dest);
    let result = stream_to(&mut response.into_reader(), &tmp, url, total, progress);
    let digest = match result {
        Ok(d) => d,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if !digest.eq_ignore_ascii_case(sha256) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::format(
            dest,
            format!(
                "checksum mismatch for {url}: expected sha256 {sha256}, got {digest}; the download was deleted"
            ),
        ));
    }
    std::fs::rename(&tmp, dest).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(dest, e)
    })
}

/// Copies the body to `tmp`, hashing as it goes; returns the hex digest.
fn stream_to(
    body: &mut dyn Read,
    tmp: &Path,
    url: &str,
    total: Option<u64>,
    progress: bool,
) -> Result<String> {
    let mut out = File::create(tmp).map_err(|e| Error::io(tmp, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut done: u64 = 0;
    let live = progress && std::io::stderr().is_terminal();
    if progress && !live {
        eprintln!("Downloading {url}");
    }
    let mut last_shown = 0u64;
    loop {
        let n = body
            .read(&mut buf)
            .map_err(|e| Error::invalid(format!("download of {url} failed: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| Error::io(tmp, e))?;
        done += n as u64;
        if live && done - last_shown >= 1 << 20 {
            last_shown = done;
            show_progress(url, done, total);
        }
    }
    if live {
        show_progress(url, done, total);
        eprintln!();
    }
    if let Some(t) = total {
        if done != t {
            return Err(Error::invalid(format!(
                "download of {url} stopped after {done} of {t} bytes"
            )));
        }
    }
    out.sync_all().map_err(|e| Error::io(tmp, e))?;
    Ok(hex(&hasher.finalize()))
}

fn show_progress(url: &str, done: u64, total: Option<u64>) {
    let name = url.rsplit('/').next().unwrap_or(url);
    let mb = |b: u64| b as f64 / 1e6;
    match total {
        Some(t) if t > 0 => {
            let width = 30;
            let filled = (done * width / t).min(width) as usize;
            eprint!(
                "\rDownloading {name} [{}{}] {:.1}/{:.1} MB",
                "=".repeat(filled),
                ".".repeat(width as usize - filled),
                mb(done),
                mb(t)
            );
        }
        _ => eprint!("\rDownloading {name} {:.1} MB", mb(done)),
    }
    let _ = std::io::stderr().flush();
}

/// What to do by hand when a download cannot happen.
pub fn manual_instructions(name: &str, base_url: &str, files: &[RemoteFile], dir: &Path) -> String {
    let mut s = format!("put these {name} files in {}:", dir.display());
    for f in files {
        s.push_str(&format!(
            "\n  {}  (sha256 {}, from {base_url}{})",
            f.name, f.sha256, f.name
        ));
    }
    s
}

/// Makes sure every file of `files` is in `dir` with the right checksum, downloading the
/// missing ones from `base_url` unless `offline`.
pub fn fetch_files(
    name: &str,
    base_url: &str,
    files: &[RemoteFile],
    dir: &Path,
    offline: bool,
    progress: bool,
) -> Result<()> {
    let mut missing = Vec::new();
    for f in files {
        let path = dir.join(f.name);
        if path.is_file() && sha256_file(&path)?.eq_ignore_ascii_case(f.sha256) {
            continue;
        }
        missing.push(*f);
    }
    if missing.is_empty() {
        return Ok(());
    }
    if offline {
        return Err(Error::invalid(format!(
            "{name} is not in the cache and offline mode forbids downloading it; {}",
            manual_instructions(name, base_url, &missing, dir)
        )));
    }
    for f in &missing {
        let url = format!("{base_url}{}", f.name);
        download(&url, &dir.join(f.name), f.sha256, progress).map_err(|e| {
            Error::invalid(format!(
                "{e}\nTo install {name} without the network, {}",
                manual_instructions(name, base_url, &missing, dir)
            ))
        })?;
    }
    Ok(())
}

/// Fetches a known dataset into `cache/<folder>`; returns that folder.
pub fn fetch_source(
    source: &Source,
    cache: &Path,
    base_url: Option<&str>,
    offline: bool,
    progress: bool,
) -> Result<PathBuf> {
    let dir = cache.join(source.folder);
    fetch_files(
        source.name,
        base_url.unwrap_or(source.base_url),
        source.files,
        &dir,
        offline,
        progress,
    )?;
    Ok(dir)
}
