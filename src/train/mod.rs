//! Models and training: `Sequential` with compile / fit / evaluate / predict / summary;
//! callbacks; model files (`saving`) and resumable checkpoints (`checkpoint`).

mod batches;
mod callbacks;
pub mod checkpoint;
pub mod diagnostics;
mod fit;
pub mod gradcheck;
mod history;
mod progress;
pub mod saving;
mod sequential;
mod stages;
mod summary;
mod warm_workers;

pub use batches::{BatchSource, TensorData};
pub use callbacks::{
    BatchLogs, Callback, Control, CsvLogger, EarlyStopping, Mode, ModelCheckpoint,
    ReduceLROnPlateau,
};
pub use checkpoint::{load_checkpoint, save_checkpoint, CheckpointState, Checkpointer};
pub use diagnostics::{batch_gradients, dead_relus, GradientMonitor};
pub use fit::{EpochPosition, FitOptions, Validation, MAX_BATCH_SIZE};
pub use history::{EpochLogs, History};
pub use progress::{Stream, Verbosity};
pub use saving::{read_model_file, ModelFile};
pub use sequential::{BatchResult, Evaluation, LayerOutput, Sequential, INFERENCE_BATCH};
pub use stages::{fit_stages, Stage, StageMark};
pub use summary::shape_text;
