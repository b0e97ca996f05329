//! Downloads against a tiny HTTP server on 127.0.0.1 that the test starts. No other address
//! is ever contacted.

mod data_support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

use data_support::*;
use nabla::data::*;
use sha2::{Digest, Sha256};

/// Serves `files` (path → body) over plain HTTP/1.1, one request per connection, forever.
fn serve(files: Vec<(&'static str, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("");
            let found = files.iter().find(|(p, _)| *p == path);
            let _ = match found {
                Some((_, body)) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    stream
                        .write_all(head.as_bytes())
                        .and_then(|_| stream.write_all(body))
                }
                None => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    format!("http://{addr}/")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn good_file_is_downloaded_verified_and_kept() {
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let hash = sha256_hex(&body);
    let base = serve(vec![("/good.bin", body.clone())]);
    let dir = temp_dir("dl-good");
    let files = [RemoteFile {
        name: "good.bin",
        sha256: &hash,
    }];
    fetch_files("Test", &base, &files, dir.path(), false, false).unwrap();
    assert_eq!(std::fs::read(dir.path().join("good.bin")).unwrap(), body);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file left behind");
    // Present and verified: offline is fine now.
    fetch_files("Test", &base, &files, dir.path(), true, false).unwrap();
}

#[test]
fn corrupted_file_is_a_checksum_error_and_leaves_nothing() {
    let body = b"these are not the bytes you are looking for".to_vec();
    let base = serve(vec![("/bad.bin", body)]);
    let dir = temp_dir("dl-bad");
    let expected = sha256_hex(b"the real file");
    let files = [RemoteFile {
        name: "bad.bin",
        sha256: &expected,
    }];
    let e = fetch_files("Test", &base, &files, dir.path(), false, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("checksum mismatch"), "{e}");
    assert!(e.contains(&expected), "{e}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "cache is empty"
    );
}

#[test]
fn missing_file_is_an_http_error() {
    let base = serve(vec![]);
    let dir = temp_dir("dl-404");
    let files = [RemoteFile {
        name: "nope.bin",
        sha256: "00",
    }];
    let e = fetch_files("Test", &base, &files, dir.path(), false, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("HTTP 404"), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn server_down_says_which_files_to_put_where() {
    // Bind then drop: nothing listens on this port any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/");
    let dir = temp_dir("dl-down");
    let cache = dir.path().join("mnist");
    let e = fetch_source(&MNIST_SOURCE, dir.path(), Some(&base), false, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("could not download"), "{e}");
    assert!(e.contains(&cache.display().to_string()), "{e}");
    for f in MNIST_SOURCE.files {
        assert!(e.contains(f.name) && e.contains(f.sha256), "{e}");
    }
    assert!(!cache.join("train-images-idx3-ubyte.gz").exists());
}

#[test]
fn resolve_downloads_into_the_cache_then_loads() {
    // A whole (tiny) MNIST served locally, with checksums matching what is served.
    let images: Vec<u8> = (0..3 * 784).map(|i| (i % 256) as u8).collect();
    let bodies: Vec<(&'static str, Vec<u8>)> = vec![
        (
            "/train-images-idx3-ubyte.gz",
            gzip(&encode_idx(&[3, 28, 28], &images).unwrap()),
        ),
        (
            "/train-labels-idx1-ubyte.gz",
            gzip(&encode_idx(&[3], &[1, 2, 3]).unwrap()),
        ),
        (
            "/t10k-images-idx3-ubyte.gz",
            gzip(&encode_idx(&[1, 28, 28], &images[..784]).unwrap()),
        ),
        (
            "/t10k-labels-idx1-ubyte.gz",
            gzip(&encode_idx(&[1], &[4]).unwrap()),
        ),
    ];
    let hashes: Vec<String> = bodies.iter().map(|(_, b)| sha256_hex(b)).collect();
    let base = serve(bodies.clone());
    let dir = temp_dir("dl-resolve");
    let files: Vec<RemoteFile> = bodies
        .iter()
        .zip(&hashes)
        .map(|((p, _), h)| RemoteFile {
            name: &p[1..],
            sha256: h,
        })
        .collect();
    let folder = dir.path().join("mnist");
    fetch_files("MNIST", &base, &files, &folder, false, false).unwrap();
    let options = ResolveOptions {
        cache_dir: Some(dir.path().to_path_buf()),
        keras_dir: Some(dir.path().join("no-keras")),
        offline: true,
        ..Default::default()
    };
    let (train, test) = resolve(DatasetName::Mnist, &options).unwrap();
    assert_eq!(train.labels, vec![1, 2, 3]);
    assert_eq!(test.labels, vec![4]);
}
