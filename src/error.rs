//! One error type for the whole library: every failure says what and where.

use std::path::PathBuf;

/// Everything that can go wrong in nabla, with enough context to act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed at the operating-system level.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file exists but its contents are not what its format promises.
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
    /// Tensor or layer shapes that cannot work together.
    #[error("shape error: {0}")]
    Shape(String),
    /// A setting, flag or argument with a value that cannot be used.
    #[error("{0}")]
    InvalidArgument(String),
    /// Training produced a NaN or infinite loss.
    #[error("loss became {value} at epoch {epoch}, batch {batch}: training stopped (try a lower learning rate)")]
    NonFinite {
        epoch: usize,
        batch: usize,
        value: f64,
    },
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn shape(message: impl Into<String>) -> Self {
        Error::Shape(message.into())
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
