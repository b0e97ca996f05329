//! Models and training: `Sequential` with compile / fit / evaluate / predict / summary.

mod batches;
mod callbacks;
pub mod diagnostics;
mod fit;
pub mod gradcheck;
mod history;
mod progress;
mod sequential;
mod summary;

pub use batches::{BatchSource, TensorData};
pub use callbacks::{Callback, Control};
pub use diagnostics::{batch_gradients, dead_relus, GradientMonitor};
pub use fit::{FitOptions, Validation, MAX_BATCH_SIZE};
pub use history::{EpochLogs, History};
pub use progress::{Stream, Verbosity};
pub use sequential::{BatchResult, Evaluation, LayerOutput, Sequential};
pub use summary::shape_text;
