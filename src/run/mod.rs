//! One way to run. Every way of training — `nabla train`'s flags, an experiment file, each of
//! its variants, each sweep cell, a Python `fit` that asks for a report — builds a
//! [`RunSpec`] and calls [`run`], which trains, evaluates and records it in a [`RunRecord`]
//! and, when asked, a run directory of one layout ([`crate::report::files`]) that
//! `nabla report DIR` re-renders from the files alone.
//!
//! ```no_run
//! use nabla::run::{run, RunOptions, RunSpec};
//!
//! let spec: RunSpec = toml::from_str(r#"
//!     [data]
//!     source = "mnist-sample"
//!     [model]
//!     layers = [{ type = "Flatten" }, { type = "Dense", units = 10, activation = "softmax" }]
//!     [training]
//!     epochs = 2
//! "#)?;
//! let out = run(&spec, RunOptions { out: Some("runs/quick".into()), ..RunOptions::default() })?;
//! println!("test accuracy {:.4}", out.record.test_accuracy());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Interrupts lose nothing: with [`RunOptions::interrupt`] set (Ctrl-C in the CLI), the
//! current batch finishes, the checkpoint, history and report are written, `run.json` says
//! `interrupted`, and resuming from the checkpoint ends exactly as an uninterrupted run.

mod callbacks;
mod clock;
mod data_cache;
mod dir;
mod images;
mod interrupt;
mod pipeline;
mod probe;
mod record;
mod spec;
mod stages;

pub use callbacks::{CallbacksSpec, CheckpointSpec, EarlyStoppingSpec, ReduceLrSpec};
pub use clock::{iso as utc_iso, stamp as utc_stamp};
pub use data_cache::DataCache;
pub use dir::RunDir;
pub use images::{spread_rows, PROBE_SAMPLES};
pub use interrupt::{install_signal_handler, EXIT_INTERRUPTED};
pub use pipeline::{
    checkpoint_settings, run, test_metrics, timed_test_metrics, RunOptions, RunOutput,
};
pub use probe::{GradientLog, GradientRecorder};
pub use record::{GradientsFile, RunRecord};
pub use spec::{Metric, ModelSpec, OutputSpec, Plot, RunSpec, TrainingSpec};
