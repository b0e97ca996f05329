//! Datasets loaded once and shared by every run of a process that asks for the same data:
//! the variants of a file, the cells of a sweep.

use crate::data::{DataConfig, DataSource, Splits};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct DataCache {
    loaded: Mutex<HashMap<String, Arc<Splits>>>,
}

impl DataCache {
    pub fn get(&self, config: &DataConfig) -> Result<Arc<Splits>> {
        let key = serde_json::to_string(config).expect("data configs serialize");
        let mut loaded = self
            .loaded
            .lock()
            .expect("no thread panicked holding the cache");
        if let Some(splits) = loaded.get(&key) {
            return Ok(splits.clone());
        }
        // A bad setting is the file's mistake, not missing data.
        config.validate()?;
        let splits = Arc::new(config.load().map_err(|e| missing_data(config, e))?);
        loaded.insert(key, splits.clone());
        Ok(splits)
    }
}

/// Says plainly that a dataset is not here and how to run anyway.
fn missing_data(config: &DataConfig, error: Error) -> Error {
    if matches!(
        config.source,
        DataSource::MnistSample | DataSource::Csv | DataSource::RandomCifar10
    ) {
        return error;
    }
    Error::invalid(format!(
        "{} is not available here: {error}\n\
         To run anyway, point at the files with --data-dir DIR, or use another dataset of the \
         same shape: --data mnist-sample (built in) or --data fashion-mnist for 28x28 images.",
        config.source.name()
    ))
}
