//! Looking at results: classification metrics, plots (PNG + SVG with an embedded font), a
//! run directory's file schema and the self-contained HTML report drawn from it. Everything
//! here takes plain data (label vectors, `f64` series, `u8` images, strings) or files, and
//! imports nothing from training, so any run, in any process or years later, renders the same.

pub mod atomic;
pub mod files;
pub mod findings;
pub mod html;
pub mod metrics;
pub mod plots;
mod render;

pub use atomic::write_atomic;
pub use files::{DataFacts, ImageSet, Reloaded, RunInfo, RunMetrics, RunStatus};
pub use html::HtmlReport;
pub use metrics::{top_k_accuracy, ClassificationReport, ConfusionMatrix};
pub use plots::PlotFiles;
pub use render::{render, Rendered};
