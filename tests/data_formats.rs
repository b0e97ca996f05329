//! Each format read from small files written in the official layout.

mod data_support;

use std::path::Path;

use data_support::*;
use nabla::data::*;

/// Pixel (h, w, c) of image `i` in official channel-major rows.
fn chw(rows: &[u8], i: usize, h: usize, w: usize, c: usize) -> u8 {
    rows[i * 3072 + c * 1024 + h * 32 + w]
}

fn check_cifar(train: &Dataset, test: &Dataset, n: usize) {
    assert_eq!((train.len(), test.len()), (5 * n, n));
    assert_eq!(train.sample_shape, vec![32, 32, 3]);
    assert_eq!(train.class_names[3], "cat");
    // Image 1 of batch 3 (index 2n + 1 of train), pixel (5, 7), blue channel.
    let rows = cifar_rows(n, 2);
    let base = (2 * n + 1) * 3072;
    assert_eq!(
        train.features.get(base + (5 * 32 + 7) * 3 + 2),
        chw(&rows, 1, 5, 7, 2) as f32
    );
    assert_eq!(train.labels[2 * n + 1], cifar_labels(n, 2)[1] as u32);
    assert_eq!(
        test.labels,
        cifar_labels(n, 5)
            .iter()
            .map(|&l| l as u32)
            .collect::<Vec<_>>()
    );
}

#[test]
fn cifar_binary_folder_and_archive() {
    let dir = temp_dir("cifar-bin");
    let folder = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&folder).unwrap();
    let batches = cifar_batches(false, 4);
    for (name, bytes) in &batches {
        write(&folder.join(name), bytes);
    }
    let (train, test) = load_cifar10(&folder).unwrap();
    check_cifar(&train, &test, 4);
    // The parent folder is found too.
    let (train, _) = load_cifar10(dir.path()).unwrap();
    assert_eq!(train.len(), 20);

    let archived: Vec<(String, Vec<u8>)> = batches
        .into_iter()
        .map(|(n, b)| (format!("cifar-10-batches-bin/{n}"), b))
        .chain([(
            "cifar-10-batches-bin/readme.html".to_string(),
            b"hi".to_vec(),
        )])
        .collect();
    let archive = dir.path().join("cifar-10-binary.tar.gz");
    write(&archive, &tar_gz(&archived));
    let (train, test) = load_cifar10(&archive).unwrap();
    check_cifar(&train, &test, 4);
}

#[test]
fn cifar_python_folder_and_archive() {
    let dir = temp_dir("cifar-py");
    let folder = dir.path().join("cifar-10-batches-py");
    std::fs::create_dir(&folder).unwrap();
    let batches = cifar_batches(true, 3);
    for (name, bytes) in &batches {
        write(&folder.join(name), bytes);
    }
    let (train, test) = load_cifar10(&folder).unwrap();
    check_cifar(&train, &test, 3);
    let archived: Vec<(String, Vec<u8>)> = batches
        .into_iter()
        .map(|(n, b)| (format!("cifar-10-batches-py/{n}"), b))
        .collect();
    let archive = dir.path().join("cifar-10-python.tar.gz");
    write(&archive, &tar_gz(&archived));
    let (train, test) = load_cifar10(&archive).unwrap();
    check_cifar(&train, &test, 3);
}

#[test]
fn cifar_pickles_written_by_python3() {
    // tests/fixtures/make_cifar_pickles.py made these.
    let rows: Vec<u8> = (0..3 * 3072).map(|i| (i % 251) as u8).collect();
    for proto in [2, 4, 5] {
        let path = format!("tests/fixtures/cifar_py3_protocol{proto}.pkl");
        let bytes = std::fs::read(&path).unwrap();
        let batch = parse_cifar_pickle(&bytes, Path::new(&path)).unwrap();
        assert_eq!(batch.labels, vec![0, 9, 3], "protocol {proto}");
        assert_eq!(batch.pixels.len(), 3 * 3072);
        for (i, h, w, c) in [(0, 0, 0, 0), (1, 31, 2, 1), (2, 17, 30, 2)] {
            assert_eq!(
                batch.pixels[i * 3072 + (h * 32 + w) * 3 + c],
                chw(&rows, i, h, w, c),
                "protocol {proto}"
            );
        }
    }
}

fn npy_u8(shape: &[usize], data: &[u8]) -> Vec<u8> {
    encode_npy("|u1", shape, data)
}

#[test]
fn keras_mnist_npz() {
    let dir = temp_dir("npz");
    let x_train: Vec<u8> = (0..6 * 28 * 28).map(|i| (i % 256) as u8).collect();
    let y_train: Vec<u8> = vec![5, 0, 4, 1, 9, 2];
    let x_test: Vec<u8> = vec![7; 2 * 28 * 28];
    let y_test: Vec<i64> = vec![7, 2];
    let y_test: Vec<u8> = y_test.iter().flat_map(|v| v.to_le_bytes()).collect();
    let zip = npz(&[
        ("x_test.npy", npy_u8(&[2, 28, 28], &x_test)),
        ("x_train.npy", npy_u8(&[6, 28, 28], &x_train)),
        ("y_train.npy", npy_u8(&[6], &y_train)),
        ("y_test.npy", encode_npy("<i8", &[2], &y_test)),
    ]);
    let path = dir.path().join("mnist.npz");
    write(&path, &zip);
    let digits: Vec<String> = Dataset::digit_names(10);
    let digits: Vec<&str> = digits.iter().map(String::as_str).collect();
    let (train, test) = load_mnist_npz(&path, &digits).unwrap();
    assert_eq!(train.labels, vec![5, 0, 4, 1, 9, 2]);
    assert_eq!(test.labels, vec![7, 2]);
    assert_eq!(train.sample_shape, vec![28, 28, 1]);
    assert_eq!(train.features.get(300), 44.0);

    // resolve() finds it in Keras's cache when nabla's cache is empty, without the network.
    let options = ResolveOptions {
        cache_dir: Some(dir.path().join("empty-cache")),
        keras_dir: Some(dir.path().to_path_buf()),
        offline: true,
        ..Default::default()
    };
    let (train, _) = resolve(DatasetName::Mnist, &options).unwrap();
    assert_eq!(train.len(), 6);
    // from_keras_cache() looks in Keras's cache alone (nabla.keras reads it first).
    let (train, _) = from_keras_cache(DatasetName::Mnist, dir.path())
        .unwrap()
        .unwrap();
    assert_eq!(train.len(), 6);
    assert!(from_keras_cache(DatasetName::Cifar10, dir.path()).is_none());
}

#[test]
fn csv_raw_and_gz_files() {
    let dir = temp_dir("csv");
    let text = "label,p0,p1,p2,p3\n3,0,10,20,255\n1,1,2,3,4\n";
    let options = CsvOptions {
        label: LabelColumn::First,
        has_header: true,
        sample_shape: Some(vec![2, 2, 1]),
        ..Default::default()
    };
    for (name, bytes) in [
        ("a.csv", text.as_bytes().to_vec()),
        ("a.csv.gz", gzip(text.as_bytes())),
    ] {
        let path = dir.path().join(name);
        write(&path, &bytes);
        let d = read_csv(&path, &options).unwrap();
        assert_eq!(d.labels, vec![3, 1]);
        assert_eq!(d.features.get(3), 255.0);
        assert_eq!(d.num_classes, 4);
    }
}

#[test]
fn resolve_prefers_explicit_dir_then_cache_and_explains_offline() {
    let dir = temp_dir("resolve");
    let cache = dir.path().join("cache");
    let options = ResolveOptions {
        cache_dir: Some(cache.clone()),
        keras_dir: Some(dir.path().join("no-keras")),
        offline: true,
        ..Default::default()
    };
    let e = resolve(DatasetName::FashionMnist, &options)
        .unwrap_err()
        .to_string();
    let folder = cache.join("fashion-mnist");
    assert!(e.contains("offline"), "{e}");
    assert!(e.contains(&folder.display().to_string()), "{e}");
    for f in FASHION_MNIST_SOURCE.files {
        assert!(e.contains(f.name) && e.contains(f.sha256), "{e}");
    }

    // Files in the cache folder are used as they are.
    std::fs::create_dir_all(&folder).unwrap();
    write_idx_gz(
        &folder.join("train-images-idx3-ubyte.gz"),
        &[2, 28, 28],
        &[1; 2 * 784],
    )
    .unwrap();
    write_idx_gz(&folder.join("train-labels-idx1-ubyte.gz"), &[2], &[9, 0]).unwrap();
    write_idx(
        &folder.join("t10k-images-idx3-ubyte"),
        &[1, 28, 28],
        &[2; 784],
    )
    .unwrap();
    write_idx(&folder.join("t10k-labels-idx1-ubyte"), &[1], &[3]).unwrap();
    let (train, test) = resolve(DatasetName::FashionMnist, &options).unwrap();
    assert_eq!(train.class_names[train.labels[0] as usize], "Ankle boot");
    assert_eq!(test.labels, vec![3]);

    // An explicit folder is used alone.
    let explicit = ResolveOptions {
        dir: Some(dir.path().join("missing")),
        ..options.clone()
    };
    assert!(resolve(DatasetName::FashionMnist, &explicit).is_err());
    assert_eq!(
        "cifar-10".parse::<DatasetName>().unwrap(),
        DatasetName::Cifar10
    );
    assert!("imagenet".parse::<DatasetName>().is_err());
}
