//! The experiment file as TOML: its tables, where each key sits (so an error can name the
//! line), and the two edits variants and sweeps make — merging an override and setting a
//! dotted key.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};
use toml::{Table, Value};

/// A parsed experiment file: its values and the line of every key.
#[derive(Clone, Debug)]
pub struct Document {
    pub path: PathBuf,
    pub table: Table,
    /// `model.layers[2].units` → 1-based line of that key (or array element).
    lines: HashMap<String, usize>,
}

impl Document {
    /// Parses `text`; syntax errors name the file, line and column.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let table: Table = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of_offset(text, s.start));
            located(path, line, None, e.message())
        })?;
        let spanned = DeTable::parse(text).map_err(|e| Error::format(path, e.to_string()))?;
        let mut lines = HashMap::new();
        index_table(text, spanned.get_ref(), "", &mut lines);
        Ok(Document {
            path: path.to_path_buf(),
            table,
            lines,
        })
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &text)
    }

    /// The line of `key`, or of its nearest enclosing key that the file spells out.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        let mut key = key;
        loop {
            if let Some(&line) = self.lines.get(key) {
                return Some(line);
            }
            key = parent(key)?;
        }
    }

    /// Like `line_of`, but only if `key` itself or a parent below `within` is in the file:
    /// for an override block (`variants[1]`), says whether the block set this key.
    pub fn line_within(&self, within: &str, key: &str) -> Option<usize> {
        let mut full = format!("{within}.{key}");
        loop {
            if full.len() <= within.len() {
                return None;
            }
            if let Some(&line) = self.lines.get(&full) {
                return Some(line);
            }
            full = parent(&full)?.to_string();
        }
    }

    /// Whether the file spells out `key` exactly.
    pub fn has_key(&self, key: &str) -> bool {
        self.lines.contains_key(key)
    }

    /// An error about `key` at `line`, formatted `file:line: key: message`.
    pub fn error(&self, line: Option<usize>, key: &str, message: &str) -> Error {
        located(&self.path, line, Some(key), message)
    }
}

/// `file:line: key: message`, the one shape of every experiment-file error.
pub fn located(path: &Path, line: Option<usize>, key: Option<&str>, message: &str) -> Error {
    let mut text = path.display().to_string();
    if let Some(line) = line {
        text += &format!(":{line}");
    }
    text += ": ";
    if let Some(key) = key.filter(|k| !k.is_empty()) {
        text += &format!("{key}: ");
    }
    text += message.trim();
    Error::invalid(text)
}

/// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → None.
fn parent(key: &str) -> Option<&str> {
    if key.is_empty() {
        return None;
    }
    let cut = key.rfind(['.', '[']).unwrap_or(0);
    Some(&key[..cut])
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn index_table(text: &str, table: &DeTable, prefix: &str, out: &mut HashMap<String, usize>) {
    for (key, value) in table {
        let path = join(prefix, key.get_ref());
        out.insert(path.clone(), line_of_offset(text, key.span().start));
        index_value(text, value.get_ref(), &path, out);
    }
}

fn index_value(text: &str, value: &DeValue, path: &str, out: &mut HashMap<String, usize>) {
    match value {
        DeValue::Table(t) => index_table(text, t, path, out),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{i}]");
                out.insert(item_path.clone(), line_of_offset(text, item.span().start));
                index_value(text, item.get_ref(), &item_path, out);
            }
        }
        _ => {}
    }
}

/// Applies an override: tables merge key by key, except that a table naming its `type`
/// (an optimizer, a layer) replaces the old one whole — switching Adam for SGD must not keep
/// Adam's `beta_1`. Arrays and plain values replace.
pub fn merge(base: &mut Table, over: &Table) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(Value::Table(old)), Value::Table(new)) if !new.contains_key("type") => {
                merge(old, new)
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Sets a dotted key such as `training.optimizer.learning_rate` or `model.layers.2.rate`
/// (a number indexes an array), creating missing tables on the way.
pub fn set_path(table: &mut Table, key: &str, value: Value) -> Result<()> {
    let segments: Vec<&str> = key.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(Error::invalid(format!("'{key}' is not a dotted key")));
    }
    let mut slot = Slot::Table(table);
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let bad = |what: &str| {
            Error::invalid(format!(
                "cannot set '{key}': '{}' {what}",
                segments[..=i].join(".")
            ))
        };
        slot = match slot {
            Slot::Table(t) => {
                if last {
                    t.insert(segment.to_string(), value);
                    return Ok(());
                }
                let next = t
                    .entry(segment.to_string())
                    .or_insert_with(|| Value::Table(Table::new()));
                Slot::from_value(next).ok_or_else(|| bad("is not a table or an array"))?
            }
            Slot::Array(a) => {
                let index: usize = segment
                    .parse()
                    .map_err(|_| bad("should be an index into an array"))?;
                let len = a.len();
                let item = a
                    .get_mut(index)
                    .ok_or_else(|| bad(&format!("is past the end (the array has {len})")))?;
                if last {
                    *item = value;
                    return Ok(());
                }
                Slot::from_value(item).ok_or_else(|| bad("is not a table or an array"))?
            }
        };
    }
    unreachable!("the loop returns at the last segment")
}

enum Slot<'a> {
    Table(&'a mut Table),
    Array(&'a mut Vec<Value>),
}

impl<'a> Slot<'a> {
    fn from_value(v: &'a mut Value) -> Option<Self> {
        match v {
            Value::Table(t) => Some(Slot::Table(t)),
            Value::Array(a) => Some(Slot::Array(a)),
            _ => None,
        }
    }
}

/// Flattens `{ model = { l2 = [..] }, "training.seed" = [..] }` into dotted keys, so a grid may
/// be written with quoted dotted keys or with TOML's own dotted keys alike.
pub fn flatten_leaves(table: &Table, prefix: &str, out: &mut Vec<(String, Value)>) {
    for (key, value) in table {
        let path = join(prefix, key);
        match value {
            Value::Table(t) => flatten_leaves(t, &path, out),
            other => out.push((path, other.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
name = \"x\"
[model]
layers = [
  { type = \"Flatten\" },
  { type = \"Dense\", units = 10 },
]
[training.optimizer]
type = \"adam\"
";

    #[test]
    fn keys_map_to_their_lines() {
        let doc = Document::parse(Path::new("x.toml"), TEXT).unwrap();
        assert_eq!(doc.line_of("name"), Some(1));
        assert_eq!(doc.line_of("model.layers[1].units"), Some(5));
        assert_eq!(doc.line_of("model.layers[1].unitz"), Some(5));
        assert_eq!(doc.line_of("training.optimizer.type"), Some(8));
        assert_eq!(doc.line_of("training.epochs"), Some(7));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = Document::parse(Path::new("x.toml"), "a = 1\nb = = 2\n").unwrap_err();
        assert!(err.to_string().starts_with("x.toml:2: "), "{err}");
    }

    #[test]
    fn typed_tables_replace_and_others_merge() {
        let mut base: Table = toml::from_str(
            "[training]\nepochs = 3\noptimizer = { type = \"adam\", beta_1 = 0.8 }\n",
        )
        .unwrap();
        let over: Table =
            toml::from_str("[training]\noptimizer = { type = \"sgd\" }\nbatch_size = 8\n").unwrap();
        merge(&mut base, &over);
        let t = base["training"].as_table().unwrap();
        assert_eq!(t["epochs"].as_integer(), Some(3));
        assert_eq!(t["batch_size"].as_integer(), Some(8));
        assert!(!t["optimizer"].as_table().unwrap().contains_key("beta_1"));
    }

    #[test]
    fn dotted_keys_reach_into_tables_and_arrays() {
        let mut t: Table = toml::from_str("[model]\nlayers = [{ type = \"Dense\" }]\n").unwrap();
        set_path(&mut t, "model.layers.0.units", Value::Integer(5)).unwrap();
        set_path(
            &mut t,
            "training.optimizer.learning_rate",
            Value::Float(0.1),
        )
        .unwrap();
        assert_eq!(t["model"]["layers"][0]["units"].as_integer(), Some(5));
        assert_eq!(
            t["training"]["optimizer"]["learning_rate"].as_float(),
            Some(0.1)
        );
        assert!(set_path(&mut t, "model.layers.3.units", Value::Integer(1)).is_err());
        assert!(set_path(&mut t, "model.layers.x", Value::Integer(1)).is_err());
    }
}
