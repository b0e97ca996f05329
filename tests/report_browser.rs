//! Opens a generated `report.html` in headless Chromium (Debian's `chromium`) and checks that
//! it renders: a screenshot that is not blank and shows plot colours, and every inlined image
//! decoded with a non-zero natural width.
//!
//! Without Chromium the test fails when `CI` is set and is skipped (with a message) otherwise.
//! Install it with `apt-get install -y chromium`; `NABLA_CHROMIUM` may name another binary.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nabla::report::html::HtmlReport;
use nabla::report::metrics::{ClassificationReport, ConfusionMatrix};
use nabla::report::plots::{self, ChartText, Images, TrainingCurves};

/// Builds a report with every kind of plot and block into `dir`, returning the page path and
/// how many images it inlines.
fn build_report(dir: &Path) -> (PathBuf, usize) {
    let names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    // 60 fake 28x28 digits: a bright stroke whose position depends on the class.
    let n = 60;
    let mut pixels = vec![0u8; n * 28 * 28];
    let y_true: Vec<usize> = (0..n).map(|i| (i * 7 + 3) % 10).collect();
    for (i, &class) in y_true.iter().enumerate() {
        for r in 4..24 {
            for c in 2 + 2 * class..6 + 2 * class {
                pixels[(i * 28 + r) * 28 + c] = 255;
            }
        }
    }
    let y_pred: Vec<usize> = y_true
        .iter()
        .enumerate()
        .map(|(i, &t)| if i % 9 == 0 { (t + 3) % 10 } else { t })
        .collect();
    let images = Images::new(&pixels, 28, 28, 1).unwrap();

    let loss = [0.42, 0.21, 0.15, 0.12, 0.10];
    let val_loss = [0.25, 0.18, 0.16, 0.15, 0.16];
    let acc = [0.88, 0.94, 0.955, 0.965, 0.97];
    let val_acc = [0.93, 0.947, 0.952, 0.956, 0.955];
    let curves = TrainingCurves {
        loss: &loss,
        val_loss: &val_loss,
        accuracy: &acc,
        val_accuracy: &val_acc,
    };
    let cm = ConfusionMatrix::new(&y_true, &y_pred, 10).unwrap();
    let report = ClassificationReport::new(&y_true, &y_pred, &names).unwrap();
    let layers = [
        "dense/kernel",
        "dense/bias",
        "dense_1/kernel",
        "dense_1/bias",
    ];
    let sweep_text = ChartText {
        title: "Final validation accuracy vs L2 factor",
        x_desc: "L2 factor",
        y_desc: "val_accuracy",
    };
    let runs = [
        ("Adam", val_acc.to_vec()),
        ("SGD", vec![0.85, 0.89, 0.91, 0.92, 0.93]),
        ("RMSprop", vec![0.92, 0.94, 0.95, 0.952, 0.953]),
    ];
    let figures = vec![
        (
            "Loss and accuracy",
            plots::training_curves(dir, "curves", &curves).unwrap(),
        ),
        (
            "Confusion matrix",
            plots::confusion_heatmap(dir, "confusion", &cm, &names).unwrap(),
        ),
        (
            "Predictions on the first 50 test images",
            plots::prediction_grid(
                dir,
                "predictions",
                &images,
                &y_true,
                &y_pred,
                &names,
                (5, 10),
            )
            .unwrap(),
        ),
        (
            "Training samples",
            plots::sample_grid(dir, "samples", &images, &y_true, &names, 5).unwrap(),
        ),
        (
            "Gradients per layer",
            plots::gradient_bars(
                dir,
                "gradients",
                &layers,
                &[1e-4, -2e-5, 3e-3, -1e-3],
                &[2e-3, 5e-4, 1e-2, 4e-3],
            )
            .unwrap(),
        ),
        (
            "Gradient evolution",
            plots::gradient_evolution(
                dir,
                "gradient_evolution",
                &layers[..2],
                &[vec![1e-4, 5e-5, 2e-5], vec![-2e-4, -1e-4, 0.0]],
                &[vec![1e-3, 5e-4, 1e-4], vec![4e-3, 2e-3, 1e-3]],
            )
            .unwrap(),
        ),
        (
            "Optimizers",
            plots::runs_overlay(
                dir,
                "optimizers",
                "Validation accuracy",
                "val_accuracy",
                &runs,
            )
            .unwrap(),
        ),
        (
            "L2 sweep",
            plots::error_bars_log_x(
                dir,
                "l2_sweep",
                &sweep_text,
                &[1e-6, 1e-5, 1e-4, 1e-3],
                &[0.975, 0.978, 0.98, 0.97],
                &[0.001, 0.0015, 0.0008, 0.002],
            )
            .unwrap(),
        ),
        (
            "Activation functions",
            plots::activation_functions(dir, "activations", (-5.0, 5.0), &[2.0, 1.0, 0.1]).unwrap(),
        ),
    ];

    let mut page = HtmlReport::new("nabla report: mnist-mlp <browser test>");
    page.section("Model summary").preformatted(
        "Model: \"sequential\"\n Layer (type)     Output Shape    Param #\n dense (Dense)    (None, 128)     100480\n \
         dense_1 (Dense)  (None, 10)      1290\nTotal params: 101770",
    );
    let rows: Vec<Vec<String>> = (0..loss.len())
        .map(|e| {
            vec![
                (e + 1).to_string(),
                format!("{:.4}", loss[e]),
                format!("{:.4}", acc[e]),
                format!("{:.4}", val_loss[e]),
                format!("{:.4}", val_acc[e]),
            ]
        })
        .collect();
    page.section("History").table(
        &["epoch", "loss", "accuracy", "val_loss", "val_accuracy"],
        &rows,
    );
    page.section("Metrics")
        .metrics(&[
            ("test accuracy", format!("{:.4}", report.accuracy)),
            ("samples", n.to_string()),
        ])
        .preformatted(report.to_string())
        .preformatted(cm.to_text(&names).unwrap());
    page.section("Plots");
    for (caption, files) in &figures {
        page.image_file(*caption, &files.png).unwrap();
    }
    let path = dir.join("report.html");
    page.write(&path).unwrap();
    (path, figures.len())
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NABLA_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Runs headless Chromium on `url` with `extra` flags, returning stdout; kills it after 90 s.
fn chromium(bin: &Path, profile: &Path, extra: &[String], url: &str, log: &Path) -> String {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "chromium failed ({status}); see {}",
                log.display()
            );
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish in 90 s; see {}", log.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

/// Decodes a PNG into (width, height, RGB(A) bytes, channels).
fn decode_png(path: &Path) -> (u32, u32, Vec<u8>, usize) {
    let mut decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let channels = info.color_type.samples();
    (info.width, info.height, buf, channels)
}

#[test]
fn report_renders_in_headless_chromium() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("report_browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (report, n_images) = build_report(&dir);
    let html = std::fs::read_to_string(&report).unwrap();
    for bad in ["src=\"http", "src=\"file", "href=\"http", "url(", "<link"] {
        assert!(
            !html.contains(bad),
            "report references external content: {bad}"
        );
    }
    assert_eq!(
        html.matches("<img src=\"data:image/png;base64,").count(),
        n_images
    );
    assert_eq!(html.matches("<img").count(), n_images);

    let Some(bin) = find_chromium() else {
        let why = "chromium not found (install Debian's `chromium`, or set NABLA_CHROMIUM)";
        if std::env::var_os("CI").is_some() {
            panic!("{why}; the browser check is required in CI");
        }
        eprintln!("SKIPPED report_renders_in_headless_chromium: {why}");
        return;
    };

    // 1. Screenshot: not blank, and plot colours (tab10 blue lines, Blues heatmap) visible.
    let shot = dir.join("screenshot.png");
    let url = format!("file://{}", report.display());
    chromium(
        &bin,
        &dir.join("profile-shot"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,2000".into(),
        ],
        &url,
        &dir.join("chromium-shot.log"),
    );
    assert!(shot.is_file(), "no screenshot written");
    let (w, h, px, ch) = decode_png(&shot);
    assert!(w >= 1000 && h >= 1500, "screenshot is {w}x{h}");
    let n = (w * h) as usize;
    let luma: Vec<f64> = px
        .chunks_exact(ch)
        .map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
        .collect();
    let mean = luma.iter().sum::<f64>() / n as f64;
    let var = luma.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    assert!(
        var > 100.0,
        "screenshot looks blank (luma variance {var:.1})"
    );
    let bluish = px
        .chunks_exact(ch)
        .filter(|p| p[2] as i32 > p[0] as i32 + 60 && p[2] > 100)
        .count();
    assert!(
        bluish > 2_000,
        "only {bluish} blue plot pixels in the screenshot"
    );

    // 2. Every image decoded: a copy of the page with a probe script that records each
    //    image's naturalWidth once the page has loaded, read back with --dump-dom.
    let probe = dir.join("probe.html");
    let script = "<script>window.addEventListener('load', function () {\
        var imgs = document.querySelectorAll('img');\
        for (var i = 0; i < imgs.length; i++) {\
          imgs[i].setAttribute('data-natural-width', String(imgs[i].naturalWidth));\
        }\
        document.body.setAttribute('data-probe', 'done:' + imgs.length);\
      });</script>";
    std::fs::write(
        &probe,
        html.replace("</body>", &format!("{script}\n</body>")),
    )
    .unwrap();
    let dom = chromium(
        &bin,
        &dir.join("profile-dom"),
        &["--dump-dom".into(), "--virtual-time-budget=10000".into()],
        &format!("file://{}", probe.display()),
        &dir.join("chromium-dom.log"),
    );
    assert!(
        dom.contains(&format!("data-probe=\"done:{n_images}\"")),
        "probe script did not run over {n_images} images; DOM starts: {}",
        &dom[..dom.len().min(300)]
    );
    let widths: Vec<u32> = dom
        .split("data-natural-width=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect();
    assert_eq!(widths.len(), n_images, "one width per image");
    assert!(
        widths.iter().all(|&w| w > 0),
        "an image failed to load: widths {widths:?}"
    );
    eprintln!(
        "screenshot: {} ({w}x{h}); image widths {widths:?}",
        shot.display()
    );
}
