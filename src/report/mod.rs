//! Looking at results: classification metrics, plots (PNG + SVG with an embedded font) and a
//! self-contained HTML report. Everything here takes plain data (label vectors, `f64` series,
//! `u8` images, strings), so training, experiments and the CLI can all feed it.

pub mod atomic;
pub mod html;
pub mod metrics;
pub mod plots;
pub mod run;

pub use atomic::write_atomic;
pub use html::HtmlReport;
pub use metrics::{top_k_accuracy, ClassificationReport, ConfusionMatrix};
pub use plots::PlotFiles;
