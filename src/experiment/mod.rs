//! Experiment files: a whole lab, comparison or sweep in one TOML file and one command.
//!
//! ```toml
//! [data]
//! source = "mnist-sample"
//!
//! [model]
//! layers = [
//!   { type = "Flatten" },
//!   { type = "Dense", units = 128, activation = "relu" },
//!   { type = "Dense", units = 10, activation = "softmax" },
//! ]
//!
//! [training]
//! optimizer = { type = "adam", learning_rate = 1e-3 }
//! loss = "categorical_crossentropy"
//! epochs = 10
//!
//! [[variants]]
//! name = "sgd"
//! training.optimizer = { type = "sgd", learning_rate = 0.01 }
//!
//! [sweep]
//! replicates = 3
//! grid = { "model.l2" = [1e-6, 1e-5, 1e-4, 1e-3] }
//! ```
//!
//! Each run, variant or sweep cell becomes a [`crate::run::RunSpec`] and goes through
//! [`crate::run::run`]. The file is parsed and every variant or sweep cell resolved (and its model built once)
//! before anything trains, so a mistake anywhere is reported first, as `file:line: key: why`.
//!
//! ```
//! use nabla::experiment::ExperimentFile;
//! let text = "[model]\nlayers = [{ type = \"Flatten\" }, { type = \"Dense\", units = 10 }]\n";
//! let file = ExperimentFile::parse("lab.toml".as_ref(), text)?;
//! assert_eq!(file.base()?.training.epochs, 10);
//!
//! let bad = "[model]\nlayers = [{ type = \"Dense\", unitz = 10 }]\n";
//! let err = ExperimentFile::parse("lab.toml".as_ref(), bad)?.base().unwrap_err();
//! assert!(err.to_string().starts_with("lab.toml:2: model.layers[0].unitz: unknown field"));
//! # Ok::<(), nabla::Error>(())
//! ```

mod document;
pub(crate) mod file;
mod lab;
pub mod sweep;
mod variants;

pub use document::{merge, set_path, Document};
pub use file::{value_text, Cell, ExperimentFile, Sweep, Variant, SWEEP_METRICS};
pub use lab::{lab_files, run_lab, staged_against_fair, LabFile, LabOutcome};
pub use sweep::{run_sweep, summarise, CellRecord, PointSummary, SweepOptions, SweepOutcome};
pub use variants::{run_file, FileRunOptions};

/// What one resolved experiment is: the run pipeline's [`crate::run::RunSpec`].
pub type Experiment = crate::run::RunSpec;
