//! An experiment file: the base settings, its `[[variants]]` and its `[sweep]`, and how each
//! becomes a resolved [`RunSpec`]. Every error names the file, the line and the key.

use super::document::{flatten_leaves, located, merge, set_path, Document};
use crate::error::{Error, Result};
use crate::nn::Loss;
use crate::run::RunSpec;
use crate::train::Sequential;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::path::Path;
use toml::{Table, Value};

/// A variant: a name and overrides of any settings of the base.
#[derive(Clone, Debug)]
pub struct Variant {
    pub name: String,
    pub overrides: Table,
    index: usize,
}

/// `[sweep]`: a grid over settings, each cell run `replicates` times with seeds base + 0, 1, …
#[derive(Clone, Debug)]
pub struct Sweep {
    pub replicates: usize,
    /// The number each cell is judged by, from the last epoch or the test set.
    pub metric: String,
    /// (dotted key, values) in the order written.
    pub axes: Vec<(String, Vec<Value>)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepText {
    #[serde(default = "one")]
    replicates: usize,
    #[serde(default = "default_metric")]
    metric: String,
    grid: Table,
}

fn one() -> usize {
    1
}
fn default_metric() -> String {
    "val_accuracy".into()
}

/// The metrics a sweep can summarise.
pub const SWEEP_METRICS: &[&str] = &[
    "val_accuracy",
    "val_loss",
    "test_accuracy",
    "test_loss",
    "accuracy",
    "loss",
];

/// One grid point × one replicate.
#[derive(Clone, Debug)]
pub struct Cell {
    /// Grid point number, from 0, in the grid's order (last axis fastest).
    pub point: usize,
    pub replicate: usize,
    /// (dotted key, value) for every axis.
    pub assignments: Vec<(String, Value)>,
}

impl Cell {
    /// A stable file name: `p003-r1`.
    pub fn id(&self) -> String {
        format!("p{:03}-r{}", self.point, self.replicate)
    }

    /// `model.l2=0.0001, training.optimizer.type=sgd`
    pub fn label(&self) -> String {
        self.assignments
            .iter()
            .map(|(k, v)| format!("{k}={}", value_text(v)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A value as a person reads it: strings without quotes, tables and arrays as TOML.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Where a resolved config's settings came from, to find the line an error is about.
enum Origin<'a> {
    Base,
    Variant(usize),
    Cell(&'a Cell),
}

/// A parsed experiment file plus the command line's overrides.
#[derive(Clone, Debug)]
pub struct ExperimentFile {
    pub doc: Document,
    base: Table,
    pub variants: Vec<Variant>,
    pub sweep: Option<Sweep>,
    /// Settings from the command line (`--epochs` → `training.epochs`), applied last.
    cli: Vec<(String, Value, String)>,
}

impl ExperimentFile {
    pub fn read(path: &Path) -> Result<Self> {
        Self::from_document(Document::read(path)?)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        Self::from_document(Document::parse(path, text)?)
    }

    fn from_document(doc: Document) -> Result<Self> {
        let mut base = doc.table.clone();
        let variants_value = base.remove("variants");
        let sweep_value = base.remove("sweep");
        if !base.contains_key("name") {
            let stem = doc
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "experiment".into());
            base.insert("name".into(), Value::String(stem));
        }
        let mut file = ExperimentFile {
            doc,
            base,
            variants: Vec::new(),
            sweep: None,
            cli: Vec::new(),
        };
        if let Some(v) = variants_value {
            file.variants = file.parse_variants(v)?;
        }
        if let Some(s) = sweep_value {
            file.sweep = Some(file.parse_sweep(s)?);
        }
        Ok(file)
    }

    fn parse_variants(&self, value: Value) -> Result<Vec<Variant>> {
        let doc = &self.doc;
        let Value::Array(items) = value else {
            return Err(doc.error(
                doc.line_of("variants"),
                "variants",
                "must be a list of tables: write each as [[variants]]",
            ));
        };
        let mut variants: Vec<Variant> = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let key = format!("variants[{index}]");
            let line = doc.line_of(&key);
            let Value::Table(mut overrides) = item else {
                return Err(doc.error(line, &key, "must be a table with a name"));
            };
            let name = match overrides.remove("name") {
                Some(Value::String(s)) if !s.trim().is_empty() => s,
                Some(_) => {
                    return Err(doc.error(
                        doc.line_of(&format!("{key}.name")),
                        &format!("{key}.name"),
                        "must be a non-empty string",
                    ))
                }
                None => return Err(doc.error(line, &key, "needs a name = \"...\"")),
            };
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
            {
                return Err(doc.error(
                    doc.line_of(&format!("{key}.name")),
                    &format!("{key}.name"),
                    &format!(
                        "'{name}' is also a folder name: use letters, digits and - _ . + only"
                    ),
                ));
            }
            if variants.iter().any(|v| v.name == name) {
                return Err(doc.error(
                    doc.line_of(&format!("{key}.name")),
                    &format!("{key}.name"),
                    &format!("two variants are named '{name}'"),
                ));
            }
            variants.push(Variant {
                name,
                overrides,
                index,
            });
        }
        Ok(variants)
    }

    fn parse_sweep(&self, value: Value) -> Result<Sweep> {
        let doc = &self.doc;
        let text: SweepText = deserialize(value).map_err(|(key, message)| {
            let key = join("sweep", &key);
            doc.error(doc.line_of(&key), &key, &message)
        })?;
        let fail = |key: &str, message: &str| doc.error(doc.line_of(key), key, message);
        if text.replicates == 0 {
            return Err(fail("sweep.replicates", "must be at least 1"));
        }
        if !SWEEP_METRICS.contains(&text.metric.as_str()) {
            return Err(fail(
                "sweep.metric",
                &format!(
                    "unknown metric '{}' (expected one of {})",
                    text.metric,
                    SWEEP_METRICS.join(", ")
                ),
            ));
        }
        let mut leaves = Vec::new();
        flatten_leaves(&text.grid, "", &mut leaves);
        if leaves.is_empty() {
            return Err(fail("sweep.grid", "needs at least one setting to vary"));
        }
        let mut axes = Vec::new();
        for (key, values) in leaves {
            let grid_key = format!("sweep.grid.{key}");
            match values {
                Value::Array(values) if !values.is_empty() => axes.push((key, values)),
                _ => {
                    return Err(fail(
                        &grid_key,
                        "must be a non-empty list of values, e.g. [1e-4, 1e-3]",
                    ))
                }
            }
        }
        let sweep = Sweep {
            replicates: text.replicates,
            metric: text.metric,
            axes,
        };
        Ok(sweep)
    }

    /// Sets a dotted key from the command line (`flag` names it in errors).
    pub fn override_setting(&mut self, key: &str, value: Value, flag: &str) {
        self.cli.push((key.to_string(), value, flag.to_string()));
    }

    /// The base experiment, without variants.
    pub fn base(&self) -> Result<RunSpec> {
        self.resolve(self.base.clone(), Origin::Base)
    }

    /// Every variant resolved, or just the base (named after the file) when there are none.
    pub fn runs(&self) -> Result<Vec<(String, RunSpec)>> {
        if self.variants.is_empty() {
            let base = self.base()?;
            return Ok(vec![(base.name.clone(), base)]);
        }
        self.variants
            .iter()
            .map(|v| Ok((v.name.clone(), self.variant(v)?)))
            .collect()
    }

    pub fn variant(&self, variant: &Variant) -> Result<RunSpec> {
        let mut table = self.base.clone();
        normalize(&mut table);
        let mut overrides = variant.overrides.clone();
        normalize(&mut overrides);
        merge(&mut table, &overrides);
        self.resolve(table, Origin::Variant(variant.index))
    }

    /// The sweep's cells, every grid point × every replicate, in run order.
    pub fn cells(&self) -> Vec<Cell> {
        let Some(sweep) = &self.sweep else {
            return Vec::new();
        };
        let mut points: Vec<Vec<(String, Value)>> = vec![Vec::new()];
        for (key, values) in &sweep.axes {
            points = points
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut p = p.clone();
                        p.push((key.clone(), v.clone()));
                        p
                    })
                })
                .collect();
        }
        let mut cells = Vec::new();
        for (point, assignments) in points.into_iter().enumerate() {
            for replicate in 0..sweep.replicates {
                cells.push(Cell {
                    point,
                    replicate,
                    assignments: assignments.clone(),
                });
            }
        }
        cells
    }

    /// The experiment one cell runs: the base with the cell's settings, seed + replicate.
    pub fn cell(&self, cell: &Cell) -> Result<RunSpec> {
        let mut table = self.base.clone();
        normalize(&mut table);
        for (key, value) in &cell.assignments {
            let grid_key = format!("sweep.grid.{key}");
            set_path(&mut table, key, value.clone()).map_err(|e| {
                self.doc
                    .error(self.doc.line_of(&grid_key), &grid_key, &e.to_string())
            })?;
        }
        let mut experiment = self.resolve(table, Origin::Cell(cell))?;
        experiment.training.seed = experiment.training.seed.wrapping_add(cell.replicate as u32);
        Ok(experiment)
    }

    /// Applies the command line, deserializes, checks values and builds the model once, so
    /// a mistake anywhere is reported before any training starts.
    fn resolve(&self, mut table: Table, origin: Origin) -> Result<RunSpec> {
        for (key, value, _) in &self.cli {
            set_path(&mut table, key, value.clone())?;
        }
        normalize(&mut table);
        let experiment: RunSpec =
            deserialize(Value::Table(table)).map_err(|(key, m)| self.error(&origin, &key, &m))?;
        experiment
            .check()
            .map_err(|(key, m)| self.error(&origin, &key, &m))?;
        self.check_model(&experiment, &origin)?;
        Ok(experiment)
    }

    /// Builds the layers one by one for the data's input shape, so a layer that cannot
    /// follow the one before is reported at its own line.
    fn check_model(&self, experiment: &RunSpec, origin: &Origin) -> Result<()> {
        if let Some(path) = &experiment.model.from {
            return crate::train::Sequential::<f32>::load(path)
                .map(|_| ())
                .map_err(|e| self.error(origin, "model.from", &e.to_string()));
        }
        let Some(shape) = experiment.input_shape() else {
            return Err(self.error(
                origin,
                "model.input_shape",
                "is needed for csv data without csv_shape (e.g. input_shape = [784])",
            ));
        };
        let layers = experiment.model.layer_configs().map_err(|e| {
            let key = match experiment.model.l2_layers {
                Some(_) => "model.l2_layers",
                None => "model.l2",
            };
            self.error(origin, key, &e.to_string())
        })?;
        let mut model = Sequential::<f32>::with_seed(&shape, experiment.training.seed);
        for (i, layer) in layers.into_iter().enumerate() {
            model
                .add(layer)
                .map_err(|e| self.error(origin, &format!("model.layers[{i}]"), &e.to_string()))?;
        }
        Ok(())
    }

    /// An error about `key` of a resolved config, at the line that set it: the variant's or
    /// the sweep's own line when it overrode the key, else the base's.
    fn error(&self, origin: &Origin, key: &str, message: &str) -> Error {
        let doc = &self.doc;
        if let Some((_, _, flag)) = self.cli.iter().find(|(k, _, _)| covers(k, key)) {
            return located(
                &doc.path,
                None,
                Some(key),
                &format!("{message} (set by {flag})"),
            );
        }
        let line = match origin {
            Origin::Base => None,
            Origin::Variant(i) => doc.line_within(&format!("variants[{i}]"), key),
            Origin::Cell(cell) => cell
                .assignments
                .iter()
                .find(|(k, _)| covers(k, key) || covers(key, &bracketed(k)))
                .and_then(|(k, _)| doc.line_of(&format!("sweep.grid.{k}"))),
        };
        let message = match origin {
            Origin::Variant(i) => format!("{message} (in variant '{}')", self.variants[*i].name),
            Origin::Cell(cell) => format!("{message} (in sweep cell {})", cell.label()),
            Origin::Base => message.to_string(),
        };
        doc.error(line.or_else(|| doc.line_of(key)), key, &message)
    }
}

/// Whether dotted `setting` (`model.layers.1.units`) is `key` or contains it.
fn covers(setting: &str, key: &str) -> bool {
    let setting = bracketed(setting);
    key == setting
        || key.starts_with(&format!("{setting}."))
        || key.starts_with(&format!("{setting}["))
}

/// `model.layers.1.units` → `model.layers[1].units`, the form serde's paths take.
fn bracketed(key: &str) -> String {
    let mut out = String::new();
    for segment in key.split('.') {
        if segment.parse::<usize>().is_ok() && !out.is_empty() {
            out += &format!("[{segment}]");
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out += segment;
        }
    }
    out
}

fn join(prefix: &str, key: &str) -> String {
    match (prefix.is_empty(), key.is_empty()) {
        (true, _) => key.to_string(),
        (_, true) => prefix.to_string(),
        _ => format!("{prefix}.{key}"),
    }
}

/// Shorthands a person writes, turned into the typed form: `optimizer = "sgd"` becomes
/// `{ type = "sgd" }` (so `training.optimizer.learning_rate` can be swept on it), a missing
/// optimizer becomes Adam's, and loss aliases (`mse`) become Keras's names.
fn normalize(table: &mut Table) {
    let Some(Value::Table(training)) = table.get_mut("training") else {
        return;
    };
    if let Some(Value::Array(stages)) = training.get_mut("stages") {
        for stage in stages.iter_mut() {
            let Value::Table(stage) = stage else { continue };
            if let Some(Value::String(name)) = stage.get("optimizer") {
                let mut t = Table::new();
                t.insert("type".into(), Value::String(name.to_ascii_lowercase()));
                stage.insert("optimizer".into(), Value::Table(t));
            }
            if let Some(Value::String(name)) = stage.get("loss") {
                if let Ok(loss) = Loss::parse(name) {
                    stage.insert("loss".into(), Value::String(loss.name().into()));
                }
            }
        }
    }
    match training.get("optimizer") {
        Some(Value::String(name)) => {
            let mut t = Table::new();
            t.insert("type".into(), Value::String(name.to_ascii_lowercase()));
            training.insert("optimizer".into(), Value::Table(t));
        }
        None => {
            let mut t = Table::new();
            t.insert("type".into(), Value::String("adam".into()));
            training.insert("optimizer".into(), Value::Table(t));
        }
        _ => {}
    }
    if let Some(Value::String(name)) = training.get("loss") {
        if let Ok(loss) = Loss::parse(name) {
            training.insert("loss".into(), Value::String(loss.name().into()));
        }
    }
}

/// Deserializes `value`, or says which key failed and why: (dotted key, message).
fn deserialize<T: DeserializeOwned>(value: Value) -> std::result::Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut key = e.path().to_string();
        if key == "." {
            key.clear();
        }
        let message = e.inner().message().to_string();
        // Name the offending key itself, not the table around it.
        if let Some(field) = quoted_after(&message, "unknown field `") {
            // serde_path_to_error has usually recorded the key already; inside an internally
            // tagged enum (a layer) it has not.
            if key.rsplit(['.', '[']).next() != Some(field) {
                key = join(&key, field);
            }
        } else if (message.starts_with("unknown variant")
            || message.starts_with("missing field `type`"))
            && !key.ends_with(".type")
            && (key.contains("layers[") || key.ends_with("optimizer"))
        {
            key = join(&key, "type");
        }
        (key, message)
    })
}

fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_keys_become_serde_paths() {
        assert_eq!(bracketed("model.layers.1.units"), "model.layers[1].units");
        assert!(covers("model.layers.1", "model.layers[1].units"));
        assert!(!covers("model.l2", "model.layers[1].units"));
    }
}
