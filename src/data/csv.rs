//! Images or features as CSV text: one sample per line, one column holding the label.
//!
//! Values that are all whole numbers 0..=255 are kept as `u8` pixels (a quarter of the
//! memory of f32); anything else makes the whole table f32. Rows are streamed, so a
//! gzip-compressed CSV is never held in memory as text.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use flate2::read::GzDecoder;

use super::dataset::{Dataset, Features};
use super::idx::{is_gzip, stream_error};
use crate::error::{Error, Result};

/// Which column holds the label.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum LabelColumn {
    First,
    /// The last column, as in the bundled MNIST sample.
    #[default]
    Last,
    /// A zero-based column index.
    Index(usize),
    /// A column named in the header line (needs `has_header`).
    Name(String),
}

/// How to read a CSV table into a dataset.
#[derive(Clone, Debug)]
pub struct CsvOptions {
    pub label: LabelColumn,
    /// The first line names the columns and holds no data.
    pub has_header: bool,
    /// Shape of one sample (e.g. `[28, 28, 1]`); `None` keeps it flat: `[columns - 1]`.
    pub sample_shape: Option<Vec<usize>>,
    /// Names of the classes; `None` gives "0".."k" up to the largest label seen.
    pub class_names: Option<Vec<String>>,
    pub delimiter: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            label: LabelColumn::Last,
            has_header: false,
            sample_shape: None,
            class_names: None,
            delimiter: b',',
        }
    }
}

/// Without class names, a label larger than this is taken for a mistake, not a class.
const MAX_IMPLIED_CLASSES: usize = 65_536;

/// Reads a CSV file, raw or gzip-compressed (detected from its first bytes).
pub fn read_csv(path: &Path, options: &CsvOptions) -> Result<Dataset> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::new(file);
    if is_gzip(reader.fill_buf().map_err(|e| Error::io(path, e))?) {
        parse_csv(BufReader::new(GzDecoder::new(reader)), options, path)
    } else {
        parse_csv(reader, options, path)
    }
}

/// Parses CSV bytes held in memory (raw or gzip); `source` names them in errors.
pub fn parse_csv_bytes(bytes: &[u8], options: &CsvOptions, source: &Path) -> Result<Dataset> {
    if is_gzip(bytes) {
        parse_csv(BufReader::new(GzDecoder::new(bytes)), options, source)
    } else {
        parse_csv(bytes, options, source)
    }
}

/// Values gathered so far: `u8` while every value fits, `f32` from the first that does not.
enum Values {
    U8(Vec<u8>),
    F32(Vec<f32>),
}

impl Values {
    fn push(&mut self, text: &str) -> std::result::Result<(), ()> {
        if let Values::U8(v) = self {
            if let Ok(b) = text.parse::<u8>() {
                v.push(b);
                return Ok(());
            }
            let widened = v.iter().map(|&b| b as f32).collect();
            *self = Values::F32(widened);
        }
        let Values::F32(v) = self else { unreachable!() };
        match text.parse::<f32>() {
            Ok(x) if x.is_finite() => {
                v.push(x);
                Ok(())
            }
            _ => Err(()),
        }
    }
}

/// Parses CSV rows from any buffered reader; errors name `source` and the line.
pub fn parse_csv<R: BufRead>(
    mut reader: R,
    options: &CsvOptions,
    source: &Path,
) -> Result<Dataset> {
    let at = |line: usize, msg: String| Error::format(source, format!("line {line}: {msg}"));
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    let mut columns: Option<(usize, usize)> = None; // (count, line where it was set)
    let mut label_col: Option<usize> = None;
    let mut values = Values::U8(Vec::new());
    let mut labels: Vec<u32> = Vec::new();
    let mut header_done = !options.has_header;
    if matches!(options.label, LabelColumn::Name(_)) && !options.has_header {
        return Err(Error::invalid(
            "a label column chosen by name needs a header line",
        ));
    }
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| stream_error(source, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let text = std::str::from_utf8(&buf)
            .map_err(|_| at(line_no, "is not valid UTF-8 text".into()))?
            .trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = text
            .split(options.delimiter as char)
            .map(str::trim)
            .collect();
        match columns {
            None => {
                if fields.len() < 2 {
                    return Err(at(
                        line_no,
                        format!(
                            "{} field(s): need at least one value and a label",
                            fields.len()
                        ),
                    ));
                }
                columns = Some((fields.len(), line_no));
                label_col = Some(resolve_label_column(&options.label, &fields, source)?);
            }
            Some((count, first)) if fields.len() != count => {
                return Err(at(
                    line_no,
                    format!(
                        "{} fields, expected {count} as on line {first}",
                        fields.len()
                    ),
                ));
            }
            _ => {}
        }
        if !header_done {
            header_done = true;
            continue;
        }
        let lc = label_col.unwrap_or(0);
        for (j, f) in fields.iter().enumerate() {
            if j == lc {
                let label: u32 = f.parse().map_err(|_| {
                    at(
                        line_no,
                        format!("label {f:?} (column {}) is not a whole number ≥ 0", j + 1),
                    )
                })?;
                labels.push(label);
            } else if values.push(f).is_err() {
                return Err(at(
                    line_no,
                    format!("value {f:?} in column {} is not a number", j + 1),
                ));
            }
        }
    }
    let Some((count, _)) = columns else {
        return Err(Error::format(source, "no data rows"));
    };
    if labels.is_empty() {
        return Err(Error::format(source, "no data rows"));
    }
    let width = count - 1;
    let sample_shape = match &options.sample_shape {
        Some(shape) => {
            let need = shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .unwrap_or(usize::MAX);
            if need != width {
                return Err(Error::format(
                    source,
                    format!(
                        "sample shape {shape:?} needs {need} value columns, the file has {width}"
                    ),
                ));
            }
            shape.clone()
        }
        None => vec![width],
    };
    let class_names = match &options.class_names {
        Some(names) => names.clone(),
        None => {
            let max = *labels.iter().max().unwrap_or(&0) as usize;
            if max >= MAX_IMPLIED_CLASSES {
                return Err(Error::format(
                    source,
                    format!("label {max} is too large to be a class index (give class names)"),
                ));
            }
            Dataset::digit_names(max + 1)
        }
    };
    if let Some((i, &bad)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= class_names.len())
    {
        return Err(Error::format(
            source,
            format!(
                "label {bad} of sample {i} is out of range for {} classes",
                class_names.len()
            ),
        ));
    }
    let features = match values {
        Values::U8(v) => Features::U8(v),
        Values::F32(v) => Features::F32(v),
    };
    Dataset::new(features, sample_shape, labels, class_names)
        .map_err(|e| Error::format(source, e.to_string()))
}

fn resolve_label_column(label: &LabelColumn, fields: &[&str], source: &Path) -> Result<usize> {
    let n = fields.len();
    match label {
        LabelColumn::First => Ok(0),
        LabelColumn::Last => Ok(n - 1),
        LabelColumn::Index(i) if *i < n => Ok(*i),
        LabelColumn::Index(i) => Err(Error::format(
            source,
            format!("label column {i} does not exist: rows have {n} columns (0..{n})"),
        )),
        LabelColumn::Name(name) => fields.iter().position(|f| f == name).ok_or_else(|| {
            Error::format(source, format!("no column named {name:?} in the header"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, o: &CsvOptions) -> Result<Dataset> {
        parse_csv_bytes(text.as_bytes(), o, Path::new("t.csv"))
    }

    #[test]
    fn label_last_u8_reshaped() {
        let o = CsvOptions {
            sample_shape: Some(vec![2, 2, 1]),
            ..Default::default()
        };
        let d = parse("1,2,3,4,7\r\n5,6,7,8,2\n\n", &o).unwrap();
        assert_eq!(d.labels, vec![7, 2]);
        assert_eq!(d.sample_shape, vec![2, 2, 1]);
        assert!(matches!(d.features, Features::U8(_)));
        assert_eq!(d.num_classes, 8);
    }

    #[test]
    fn header_named_label_first_and_floats() {
        let o = CsvOptions {
            label: LabelColumn::Name("y".into()),
            has_header: true,
            class_names: Some(vec!["a".into(), "b".into()]),
            ..Default::default()
        };
        let d = parse("y,x1,x2\n1,0.5,300\n0, -2 ,3\n", &o).unwrap();
        assert_eq!(d.labels, vec![1, 0]);
        let Features::F32(v) = &d.features else {
            panic!()
        };
        assert_eq!(v, &vec![0.5, 300.0, -2.0, 3.0]);
    }

    #[test]
    fn errors_give_line_numbers() {
        let o = CsvOptions::default();
        let e = parse("1,2,3\n4,5\n", &o).unwrap_err().to_string();
        assert!(
            e.contains("line 2: 2 fields, expected 3 as on line 1"),
            "{e}"
        );
        let e = parse("1,2,3\n4,x,5\n", &o).unwrap_err().to_string();
        assert!(e.contains("line 2: value \"x\" in column 2"), "{e}");
        let e = parse("1,2,-3\n", &o).unwrap_err().to_string();
        assert!(e.contains("line 1: label \"-3\""), "{e}");
        let o = CsvOptions {
            sample_shape: Some(vec![3]),
            ..Default::default()
        };
        let e = parse("1,2,3\n", &o).unwrap_err().to_string();
        assert!(e.contains("needs 3 value columns, the file has 2"), "{e}");
    }
}
