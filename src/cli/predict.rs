//! `nabla predict`: class and probabilities for every image in IDX, CSV or PNG files.
//!
//! Pixels are 0..=255 and are scaled to [0, 1], as `nabla train` scales them. PNGs must
//! already have the model's height and width (nothing is resized, so nothing is silently
//! distorted); gray and RGB are converted to the model's channel count.

use clap::Args;
use nabla::data::{self, read_png};
use nabla::train::Sequential;
use nabla::{Error, Result, Tensor};
use serde_json::json;
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct PredictArgs {
    /// The model file: nabla's .safetensors, or a Keras .keras / .h5 file (by its contents).
    #[arg(long)]
    pub model_file: PathBuf,
    /// IDX image files (`*-idx3-ubyte`, gzip or not), CSV files of pixel rows (an extra last
    /// column, e.g. a label, is ignored) or PNG images.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print one JSON object with every prediction on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: PredictArgs) -> Result<()> {
    super::with_threads(args.threads, move || predict(args))
}

fn predict(args: PredictArgs) -> Result<()> {
    let mut model = Sequential::<f32>::load(&args.model_file)?;
    let shape = model.input_shape().to_vec();
    let mut predictions = Vec::new();
    for input in &args.inputs {
        let samples = read_samples(input, &shape)?;
        let n = samples.len() / shape.iter().product::<usize>();
        let mut dims = vec![n];
        dims.extend_from_slice(&shape);
        let x = Tensor::from_vec(samples, dims.as_slice())?;
        let out = model.predict_tensor(&x)?;
        let width = out.numel() / n.max(1);
        for (i, row) in out.data().chunks(width).enumerate() {
            let class = predicted_class(row);
            if !args.json {
                let probs: Vec<String> = row.iter().map(|p| format!("{p:.4}")).collect();
                println!(
                    "{}[{i}]: class {class} (p={:.4})  probabilities: [{}]",
                    input.display(),
                    row[class.min(row.len() - 1)],
                    probs.join(", ")
                );
            }
            predictions.push(json!({
                "input": input,
                "index": i,
                "class": class,
                "probabilities": row,
            }));
        }
    }
    if args.json {
        println!("{}", json!({ "predictions": predictions }));
    }
    Ok(())
}

/// The arg-max class; for a single sigmoid output, 1 when p ≥ 0.5.
fn predicted_class(row: &[f32]) -> usize {
    if row.len() == 1 {
        return (row[0] >= 0.5) as usize;
    }
    let mut best = 0;
    for (i, &p) in row.iter().enumerate() {
        if p > row[best] {
            best = i;
        }
    }
    best
}

/// The samples of one input file, flattened and scaled to [0, 1].
fn read_samples(path: &Path, shape: &[usize]) -> Result<Vec<f32>> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let mut head = [0u8; 8];
    let got = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Error::io(path, e))?;
    let pixels = if head[..got].starts_with(b"\x89PNG") {
        png_pixels(path, shape)?
    } else if name.ends_with(".csv") || name.ends_with(".csv.gz") {
        csv_pixels(path, shape)?
    } else {
        idx_pixels(path, shape)?
    };
    // Exactly what `Dataset::scaled` does to training pixels, so predictions match `evaluate`.
    let scale = 1.0f32 / 255.0;
    Ok(pixels.into_iter().map(|p| p * scale).collect())
}

/// (height, width, channels) of an image model's input.
fn image_geometry(shape: &[usize]) -> Option<(usize, usize, usize)> {
    match *shape {
        [h, w, c] => Some((h, w, c)),
        [h, w] => Some((h, w, 1)),
        _ => None,
    }
}

fn png_pixels(path: &Path, shape: &[usize]) -> Result<Vec<f32>> {
    let (h, w, c) = image_geometry(shape).ok_or_else(|| {
        Error::invalid(format!(
            "{}: the model's input shape {shape:?} is not an image (height, width, channels)",
            path.display()
        ))
    })?;
    let image = read_png(path)?;
    if (image.height, image.width) != (h, w) {
        return Err(Error::invalid(format!(
            "{}: the image is {}x{} (width x height) but the model takes {w}x{h}; resize it \
             first (nabla does not resize, so nothing is distorted silently)",
            path.display(),
            image.width,
            image.height
        )));
    }
    let image = image
        .with_channels(c)
        .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    Ok(image.pixels.iter().map(|&p| p as f32).collect())
}

fn idx_pixels(path: &Path, shape: &[usize]) -> Result<Vec<f32>> {
    let array = data::read_idx(path)?;
    let squeeze = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
    if array.dims.len() < 2 || squeeze(&array.dims[1..]) != squeeze(shape) {
        return Err(Error::invalid(format!(
            "{}: holds an array of shape {:?}, not samples of the model's input shape {shape:?} \
             (expected an image file such as t10k-images-idx3-ubyte)",
            path.display(),
            array.dims
        )));
    }
    Ok(array.data.iter().map(|&p| p as f32).collect())
}

fn csv_pixels(path: &Path, shape: &[usize]) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = if data::is_gzip(&bytes) {
        let mut out = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut out)
            .map_err(|e| Error::format(path, format!("bad gzip or UTF-8: {e}")))?;
        out
    } else {
        String::from_utf8(bytes).map_err(|_| Error::format(path, "is not UTF-8 text"))?
    };
    let need: usize = shape.iter().product();
    let mut pixels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let values: std::result::Result<Vec<f32>, _> =
            line.split(',').map(|f| f.trim().parse::<f32>()).collect();
        let values = match values {
            Ok(v) => v,
            Err(_) if i == 0 => continue, // a header line
            Err(_) => {
                return Err(Error::format(
                    path,
                    format!("line {}: not all values are numbers", i + 1),
                ))
            }
        };
        if values.len() != need && values.len() != need + 1 {
            return Err(Error::format(
                path,
                format!(
                    "line {}: {} values, but the model takes {need} pixels per sample \
                     (optionally followed by a label)",
                    i + 1,
                    values.len()
                ),
            ));
        }
        pixels.extend_from_slice(&values[..need]);
    }
    if pixels.is_empty() {
        return Err(Error::format(path, "no pixel rows"));
    }
    Ok(pixels)
}
