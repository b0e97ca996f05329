//! TensorBoard event logs, as Keras's `TensorBoard` callback writes them: one directory per
//! run with `train/` and `validation/` event files holding per-epoch scalars (`epoch_loss`,
//! `epoch_accuracy`, `epoch_learning_rate`), plus per-parameter gradient norms when the
//! callback is given a batch to probe them on.
//!
//! An event file is a sequence of TFRecords — a little-endian u64 length, its masked CRC-32C,
//! the bytes of one `Event` protobuf, their masked CRC-32C — the first event naming the file
//! version. Files are rewritten whole through [`crate::files::write_atomic`] after each epoch,
//! so a crash leaves the last complete log, never a torn record.
//!
//! ```no_run
//! use nabla::io::tensorboard::TensorBoard;
//! # fn demo(model: &mut nabla::train::Sequential<f32>, data: &nabla::train::TensorData<f32>) -> nabla::Result<()> {
//! let mut tb = TensorBoard::new("logs/run1");
//! model.fit_with_callbacks(data, Default::default(), &mut [&mut tb])?;
//! # Ok(()) }
//! ```

pub mod proto;

use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::tensor::{Float, Tensor};
use crate::train::{Callback, Control, EpochLogs, Sequential};
use prost::Message;
use proto::{event, summary, Event, Summary};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest record nabla reads back (events it writes are a few dozen bytes).
const MAX_RECORD: u64 = 64 << 20;

/// CRC-32C masked as TFRecord does, so a CRC of data that itself holds CRCs stays useful.
pub fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Appends one TFRecord holding `payload` to `out`.
pub fn frame_record(out: &mut Vec<u8>, payload: &[u8]) {
    let len = (payload.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&masked_crc(payload).to_le_bytes());
}

/// One scalar read back from an event file.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    pub tag: String,
    pub step: i64,
    pub value: f32,
}

/// Parses an event file's bytes: every record's framing and CRCs are checked, and the
/// scalars it holds are returned in order. `source` names the file in errors.
pub fn read_scalars(bytes: &[u8], source: &Path) -> Result<Vec<Scalar>> {
    let bad =
        |offset: usize, m: &str| Error::format(source, format!("record at byte {offset}: {m}"));
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = bytes
            .get(at..at + 12)
            .ok_or_else(|| bad(at, "truncated length header"))?;
        let len = u64::from_le_bytes(header[..8].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
        if masked_crc(&header[..8]) != crc {
            return Err(bad(
                at,
                "length checksum mismatch (corrupted or not an event file)",
            ));
        }
        if len > MAX_RECORD {
            return Err(bad(at, "record longer than 64 MiB"));
        }
        let start = at + 12;
        let end = start + len as usize;
        let payload = bytes
            .get(start..end)
            .ok_or_else(|| bad(at, "truncated record"))?;
        let stored = bytes
            .get(end..end + 4)
            .ok_or_else(|| bad(at, "truncated record checksum"))?;
        if masked_crc(payload) != u32::from_le_bytes(stored.try_into().expect("4 bytes")) {
            return Err(bad(at, "data checksum mismatch (corrupted)"));
        }
        let event =
            Event::decode(payload).map_err(|e| bad(at, &format!("not an Event protobuf: {e}")))?;
        if let Some(event::What::Summary(summary)) = event.what {
            for value in summary.value {
                if let Some(summary::value::Value::SimpleValue(v)) = value.value {
                    out.push(Scalar {
                        tag: value.tag,
                        step: event.step,
                        value: v,
                    });
                }
            }
        }
        at = end + 4;
    }
    Ok(out)
}

/// An event file being written: its records so far, rewritten whole on each flush.
pub struct EventWriter {
    path: PathBuf,
    bytes: Vec<u8>,
}

/// Distinguishes files created in the same second by the same process.
static FILE_COUNTER: AtomicUsize = AtomicUsize::new(0);

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

impl EventWriter {
    /// A new event file in `dir` (created if missing), named as TensorFlow names them:
    /// `events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2`.
    pub fn create(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let n = FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "events.out.tfevents.{}.{}.{}.{n}.v2",
            now() as u64,
            hostname(),
            std::process::id()
        );
        let mut writer = EventWriter {
            path: dir.join(name),
            bytes: Vec::new(),
        };
        writer.push(Event {
            wall_time: now(),
            step: 0,
            what: Some(event::What::FileVersion("brain.Event:2".into())),
        });
        writer.flush()?;
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn push(&mut self, event: Event) {
        frame_record(&mut self.bytes, &event.encode_to_vec());
    }

    /// Records scalars at `step` (written on the next [`EventWriter::flush`]).
    pub fn scalars(&mut self, step: i64, values: &[(&str, f64)]) {
        let value = values
            .iter()
            .map(|(tag, v)| summary::Value {
                tag: tag.to_string(),
                value: Some(summary::value::Value::SimpleValue(*v as f32)),
            })
            .collect();
        self.push(Event {
            wall_time: now(),
            step,
            what: Some(event::What::Summary(Summary { value })),
        });
    }

    /// Writes every record so far, atomically.
    pub fn flush(&self) -> Result<()> {
        write_atomic(&self.path, &self.bytes)
    }
}

/// Keras's `TensorBoard` callback: per-epoch scalars under `<log_dir>/train` and
/// `<log_dir>/validation`, and per-parameter gradient norms (`gradient_norm/<weight>`) at
/// each epoch's end when a probe batch is given.
pub struct TensorBoard {
    log_dir: PathBuf,
    train: Option<EventWriter>,
    validation: Option<EventWriter>,
    probe: Option<(Tensor<f64>, Tensor<f64>)>,
}

impl TensorBoard {
    pub fn new(log_dir: impl AsRef<Path>) -> Self {
        TensorBoard {
            log_dir: log_dir.as_ref().to_path_buf(),
            train: None,
            validation: None,
            probe: None,
        }
    }

    /// Also log each parameter's gradient L2 norm at each epoch's end, on this batch. The
    /// probe leaves the model, its optimizer and its RNG as they were.
    pub fn gradient_norms<T: Float>(mut self, x: &Tensor<T>, y: &Tensor<T>) -> Self {
        self.probe = Some((x.cast(), y.cast()));
        self
    }

    /// The train event file, once training has begun.
    pub fn train_file(&self) -> Option<&Path> {
        self.train.as_ref().map(|w| w.path())
    }

    /// The validation event file, once a validation epoch has been logged.
    pub fn validation_file(&self) -> Option<&Path> {
        self.validation.as_ref().map(|w| w.path())
    }
}

impl<T: Float> Callback<T> for TensorBoard {
    fn on_train_begin(&mut self, _model: &mut Sequential<T>) -> Result<()> {
        self.train = Some(EventWriter::create(self.log_dir.join("train"))?);
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        model: &mut Sequential<T>,
        epoch: usize,
        logs: &EpochLogs,
    ) -> Result<Control> {
        let step = epoch as i64;
        let mut values = vec![
            ("epoch_loss".to_string(), logs.loss),
            ("epoch_accuracy".to_string(), logs.accuracy),
            ("epoch_learning_rate".to_string(), logs.learning_rate),
        ];
        if let Some((x, y)) = &self.probe {
            let (_, grads) = model.probe_gradients(x.cast(), y.cast())?;
            for (_, name, g) in grads.iter() {
                let norm = g
                    .data()
                    .iter()
                    .map(|v| v.as_f64().powi(2))
                    .sum::<f64>()
                    .sqrt();
                values.push((format!("gradient_norm/{name}"), norm));
            }
        }
        let train = match &mut self.train {
            Some(w) => w,
            None => self
                .train
                .insert(EventWriter::create(self.log_dir.join("train"))?),
        };
        let refs: Vec<(&str, f64)> = values.iter().map(|(t, v)| (t.as_str(), *v)).collect();
        train.scalars(step, &refs);
        train.flush()?;
        if let (Some(loss), Some(accuracy)) = (logs.val_loss, logs.val_accuracy) {
            let validation = match &mut self.validation {
                Some(w) => w,
                None => self
                    .validation
                    .insert(EventWriter::create(self.log_dir.join("validation"))?),
            };
            validation.scalars(step, &[("epoch_loss", loss), ("epoch_accuracy", accuracy)]);
            validation.flush()?;
        }
        Ok(Control::Continue)
    }
}
