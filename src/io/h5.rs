//! The few HDF5 reads Keras files need, on top of `hdf5-pure`: string attributes (Keras writes
//! variable-length strings, or an empty float array for an empty list), groups by path, and
//! float datasets checked against the shape a layer expects before anything is allocated.

use crate::error::{Error, Result};
use hdf5_pure::{AttrValue, DType, Group};
use std::path::Path;

/// An HDF5 file held in memory, with the path that names it in errors.
pub(crate) struct H5<'a> {
    pub file: hdf5_pure::File,
    pub source: &'a Path,
}

impl<'a> H5<'a> {
    pub fn parse(bytes: Vec<u8>, source: &'a Path) -> Result<Self> {
        if !hdf5_pure::is_hdf5_bytes(&bytes) {
            return Err(Error::format(
                source,
                "not an HDF5 file (no HDF5 signature)",
            ));
        }
        let file = hdf5_pure::File::from_bytes(bytes).map_err(|e| {
            Error::format(
                source,
                format!("unreadable HDF5 file (truncated or corrupted?): {e}"),
            )
        })?;
        // Data past the end is never read by the structure walk, so a cut file would
        // otherwise load with some weights missing: the superblock says how long it is.
        let eof = file.superblock().eof_address;
        let len = file.as_bytes().len() as u64;
        let base = file.superblock().base_address.get();
        if base.saturating_add(eof) > len {
            return Err(Error::format(
                source,
                format!(
                    "truncated HDF5 file: {len} bytes, its superblock says {}",
                    base + eof
                ),
            ));
        }
        Ok(H5 { file, source })
    }

    pub fn bad(&self, message: impl Into<String>) -> Error {
        Error::format(self.source, message.into())
    }

    /// The group at `path` ("" for the root), or None when there is none.
    pub fn group(&self, path: &str) -> Option<Group> {
        if path.is_empty() {
            Some(self.file.root())
        } else {
            self.file.group(path).ok()
        }
    }

    /// A string attribute of `group` (`what` names it in errors), None when absent.
    pub fn attr_string(&self, group: &Group, name: &str, what: &str) -> Result<Option<String>> {
        let attrs = group
            .attrs()
            .map_err(|e| self.bad(format!("{what}: unreadable attributes: {e}")))?;
        match attrs.get(name) {
            None => Ok(None),
            Some(value) => match strings_of(value) {
                Some(mut list) if list.len() == 1 => Ok(list.pop()),
                _ => Err(self.bad(format!("{what}: attribute '{name}' is not a string"))),
            },
        }
    }

    /// A string-list attribute (Keras's `layer_names`, `weight_names`), None when absent.
    pub fn attr_strings(
        &self,
        group: &Group,
        name: &str,
        what: &str,
    ) -> Result<Option<Vec<String>>> {
        let attrs = group
            .attrs()
            .map_err(|e| self.bad(format!("{what}: unreadable attributes: {e}")))?;
        match attrs.get(name) {
            None => Ok(None),
            Some(value) => strings_of(value).map(Some).ok_or_else(|| {
                self.bad(format!(
                    "{what}: attribute '{name}' is not a list of strings"
                ))
            }),
        }
    }

    /// The float dataset at `path`, which must have shape `expected`; read as f32.
    pub fn read_f32(&self, path: &str, expected: &[usize]) -> Result<Vec<f32>> {
        let ds = self
            .file
            .dataset(path)
            .map_err(|_| self.bad(format!("missing weight dataset '{path}'")))?;
        let shape = ds
            .shape()
            .map_err(|e| self.bad(format!("dataset '{path}': unreadable shape: {e}")))?;
        let same = shape.len() == expected.len()
            && shape.iter().zip(expected).all(|(&a, &b)| a == b as u64);
        if !same {
            return Err(self.bad(format!(
                "dataset '{path}' has shape {shape:?} but the layer needs {expected:?}"
            )));
        }
        let dtype = ds
            .dtype()
            .map_err(|e| self.bad(format!("dataset '{path}': unreadable type: {e}")))?;
        let data = match dtype {
            DType::F32 => ds.read_f32(),
            DType::F64 => ds
                .read_f64()
                .map(|v| v.into_iter().map(|x| x as f32).collect()),
            other => {
                return Err(self.bad(format!(
                    "dataset '{path}' holds {other:?}, not 32- or 64-bit floats"
                )))
            }
        }
        .map_err(|e| self.bad(format!("dataset '{path}': unreadable data: {e}")))?;
        let numel: usize = expected.iter().product();
        if data.len() != numel {
            return Err(self.bad(format!(
                "dataset '{path}' holds {} values, expected {numel}",
                data.len()
            )));
        }
        Ok(data)
    }
}

/// The strings an attribute holds, whatever string flavour HDF5 stored; an empty numeric
/// array (how h5py stores an empty list) is an empty list.
fn strings_of(value: &AttrValue) -> Option<Vec<String>> {
    Some(match value {
        AttrValue::String(s)
        | AttrValue::AsciiString(s)
        | AttrValue::VarLenString(s)
        | AttrValue::VarLenAsciiString(s) => vec![s.clone()],
        AttrValue::StringArray(v)
        | AttrValue::AsciiStringArray(v)
        | AttrValue::VarLenStringArray(v)
        | AttrValue::VarLenAsciiStringArray(v)
        | AttrValue::VarLenAsciiCharArray(v) => v.clone(),
        AttrValue::StringSized { value, .. } | AttrValue::AsciiStringSized { value, .. } => {
            vec![value.clone()]
        }
        AttrValue::StringArraySized { values, .. }
        | AttrValue::AsciiStringArraySized { values, .. } => values.clone(),
        AttrValue::F64Array(v) if v.is_empty() => Vec::new(),
        AttrValue::F32Array(v) if v.is_empty() => Vec::new(),
        _ => return None,
    })
}
