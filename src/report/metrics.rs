//! Classification metrics from plain label vectors: confusion matrix, scikit-learn's
//! `classification_report` (same numbers, same text layout, so lab notebooks carry over),
//! and top-k accuracy from predicted probabilities.
//!
//! Conventions follow scikit-learn called with `labels=range(num_classes)` and
//! `zero_division=0`: a 0/0 precision, recall or F1 is reported as 0 (never NaN), and a class
//! that is never predicted or never present still gets its row.
//!
//! ```
//! use nabla::report::metrics::{ClassificationReport, ConfusionMatrix};
//! let y_true = [0, 1, 2, 2];
//! let y_pred = [0, 2, 2, 2];
//! let cm = ConfusionMatrix::new(&y_true, &y_pred, 3).unwrap();
//! assert_eq!(cm.get(1, 2), 1);
//! let report = ClassificationReport::new(&y_true, &y_pred, &["a", "b", "c"]).unwrap();
//! assert_eq!(report.accuracy, 0.75);
//! println!("{report}"); // scikit-learn's layout, 2 digits
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Counts of (true class, predicted class) pairs: rows are true classes, columns predicted
/// classes, as in `sklearn.metrics.confusion_matrix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    num_classes: usize,
    /// Row-major `num_classes x num_classes` counts.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// Counts the pairs; every label must be below `num_classes` (an out-of-range label is an
    /// error naming its position, not a panic).
    pub fn new(y_true: &[usize], y_pred: &[usize], num_classes: usize) -> Result<Self> {
        check_labels(y_true, y_pred, num_classes)?;
        let mut counts = vec![0u64; num_classes * num_classes];
        for (&t, &p) in y_true.iter().zip(y_pred) {
            counts[t * num_classes + p] += 1;
        }
        Ok(ConfusionMatrix {
            num_classes,
            counts,
        })
    }

    /// The matrix from nested rows (as [`ConfusionMatrix::to_rows`] and `metrics.json` give
    /// it), checked to be square and non-empty.
    pub fn from_rows(rows: &[Vec<u64>]) -> Result<Self> {
        let n = rows.len();
        if n == 0 || rows.iter().any(|r| r.len() != n) {
            return Err(Error::invalid(
                "a confusion matrix must be a non-empty square table of counts",
            ));
        }
        Ok(ConfusionMatrix {
            num_classes: n,
            counts: rows.concat(),
        })
    }

    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// How many samples of class `true_class` were predicted as `pred_class`.
    pub fn get(&self, true_class: usize, pred_class: usize) -> u64 {
        self.counts[true_class * self.num_classes + pred_class]
    }

    /// The row of one true class: how its samples were predicted.
    pub fn row(&self, true_class: usize) -> &[u64] {
        let n = self.num_classes;
        &self.counts[true_class * n..(true_class + 1) * n]
    }

    /// The matrix as nested rows, the shape `confusion_matrix(...).tolist()` gives.
    pub fn to_rows(&self) -> Vec<Vec<u64>> {
        (0..self.num_classes)
            .map(|i| self.row(i).to_vec())
            .collect()
    }

    /// Samples whose true class is `class`.
    pub fn support(&self, class: usize) -> u64 {
        self.row(class).iter().sum()
    }

    /// Samples predicted as `class`.
    pub fn predicted(&self, class: usize) -> u64 {
        (0..self.num_classes).map(|t| self.get(t, class)).sum()
    }

    /// All samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Samples on the diagonal (predicted correctly).
    pub fn correct(&self) -> u64 {
        (0..self.num_classes).map(|c| self.get(c, c)).sum()
    }

    /// A table with class names on both axes (rows true, columns predicted), for terminals.
    pub fn to_text<S: AsRef<str>>(&self, class_names: &[S]) -> Result<String> {
        check_names(class_names, self.num_classes)?;
        let names: Vec<&str> = class_names.iter().map(|s| s.as_ref()).collect();
        let corner = "true \\ pred";
        let label_w = names
            .iter()
            .map(|s| s.chars().count())
            .chain([corner.chars().count()])
            .max()
            .unwrap_or(0);
        let count_w = self
            .counts
            .iter()
            .map(|c| c.to_string().len())
            .chain(names.iter().map(|s| s.chars().count()))
            .max()
            .unwrap_or(1);
        let mut out = format!("{corner:>label_w$}");
        for name in &names {
            out += &format!(" {name:>count_w$}");
        }
        out.push('\n');
        for (i, name) in names.iter().enumerate() {
            out += &format!("{name:>label_w$}");
            for c in self.row(i) {
                out += &format!(" {c:>count_w$}");
            }
            out.push('\n');
        }
        Ok(out)
    }
}

/// Precision, recall, F1 and support for one class or one average.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    #[serde(rename = "f1-score")]
    pub f1_score: f64,
    pub support: u64,
}

/// One row of the report: a class name and its scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    pub name: String,
    #[serde(flatten)]
    pub scores: Scores,
}

/// scikit-learn's `classification_report`: per-class precision, recall, F1 and support, then
/// accuracy, the unweighted (macro) mean and the support-weighted mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    pub classes: Vec<ClassScores>,
    pub accuracy: f64,
    #[serde(rename = "macro avg")]
    pub macro_avg: Scores,
    #[serde(rename = "weighted avg")]
    pub weighted_avg: Scores,
}

impl ClassificationReport {
    /// Builds the report for labels `0..class_names.len()`; `class_names[i]` names class `i`.
    pub fn new<S: AsRef<str>>(
        y_true: &[usize],
        y_pred: &[usize],
        class_names: &[S],
    ) -> Result<Self> {
        let cm = ConfusionMatrix::new(y_true, y_pred, class_names.len())?;
        Self::from_confusion(&cm, class_names)
    }

    /// Builds the report from an existing confusion matrix (same numbers as from the labels).
    pub fn from_confusion<S: AsRef<str>>(cm: &ConfusionMatrix, class_names: &[S]) -> Result<Self> {
        check_names(class_names, cm.num_classes())?;
        let classes: Vec<ClassScores> = class_names
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let tp = cm.get(c, c) as f64;
                let support = cm.support(c);
                let predicted = cm.predicted(c);
                ClassScores {
                    name: name.as_ref().to_string(),
                    scores: Scores {
                        precision: divide(tp, predicted as f64),
                        recall: divide(tp, support as f64),
                        // sklearn's form: 2·tp / (true + predicted), equal to the harmonic mean
                        // of precision and recall but defined from counts alone.
                        f1_score: divide(2.0 * tp, (support + predicted) as f64),
                        support,
                    },
                }
            })
            .collect();
        let total = cm.total();
        let n = classes.len() as f64;
        let mean = |f: fn(&Scores) -> f64| classes.iter().map(|c| f(&c.scores)).sum::<f64>() / n;
        let weighted = |f: fn(&Scores) -> f64| {
            let num: f64 = classes
                .iter()
                .map(|c| f(&c.scores) * c.scores.support as f64)
                .sum();
            divide(num, total as f64)
        };
        let macro_avg = Scores {
            precision: mean(|s| s.precision),
            recall: mean(|s| s.recall),
            f1_score: mean(|s| s.f1_score),
            support: total,
        };
        let weighted_avg = Scores {
            precision: weighted(|s| s.precision),
            recall: weighted(|s| s.recall),
            f1_score: weighted(|s| s.f1_score),
            support: total,
        };
        Ok(ClassificationReport {
            classes,
            accuracy: divide(cm.correct() as f64, total as f64),
            macro_avg,
            weighted_avg,
        })
    }

    /// The report in `sklearn.metrics.classification_report`'s exact text layout with
    /// `digits` decimals (sklearn's default is 2, which `Display` uses).
    pub fn to_text(&self, digits: usize) -> String {
        // Mirrors sklearn: width = max(longest class name, len("weighted avg"), digits);
        // headers right-aligned in 9 columns; a blank line after the header and the classes.
        let width = self
            .classes
            .iter()
            .map(|c| c.name.chars().count())
            .chain([WEIGHTED.len(), digits])
            .max()
            .unwrap_or(0);
        let mut out = format!("{:>width$} ", "");
        for h in ["precision", "recall", "f1-score", "support"] {
            out += &format!(" {h:>9}");
        }
        out += "\n\n";
        let row = |out: &mut String, name: &str, s: &Scores| {
            *out += &format!(
                "{name:>width$}  {:>9.digits$} {:>9.digits$} {:>9.digits$} {:>9}\n",
                s.precision, s.recall, s.f1_score, s.support
            );
        };
        for c in &self.classes {
            row(&mut out, &c.name, &c.scores);
        }
        out.push('\n');
        out += &format!(
            "{:>width$}  {:>9} {:>9} {:>9.digits$} {:>9}\n",
            "accuracy", "", "", self.accuracy, self.macro_avg.support
        );
        row(&mut out, "macro avg", &self.macro_avg);
        row(&mut out, WEIGHTED, &self.weighted_avg);
        out
    }

    /// The report as JSON: `{"classes": [{"name", "precision", "recall", "f1-score",
    /// "support"}...], "accuracy", "macro avg": {...}, "weighted avg": {...}}`, keeping class
    /// order (sklearn's `output_dict` keys, but a list so order survives).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("report fields are plain numbers and strings")
    }
}

const WEIGHTED: &str = "weighted avg";

impl fmt::Display for ClassificationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text(2))
    }
}

/// Fraction of samples whose true class is among the `k` highest-scored classes.
///
/// `probs` is row-major `y_true.len() x num_classes` (probabilities or any scores). Ties are
/// ranked as `sklearn.metrics.top_k_accuracy_score` ranks them: among equal scores the higher
/// class index counts as ranked first. `k >= num_classes` gives 1.
pub fn top_k_accuracy<T: Copy + Into<f64>>(
    probs: &[T],
    num_classes: usize,
    y_true: &[usize],
    k: usize,
) -> Result<f64> {
    check_scores(probs, num_classes, y_true)?;
    if k == 0 {
        return Err(Error::invalid("top-k accuracy needs k >= 1"));
    }
    let mut hits = 0usize;
    for (row, &t) in probs.chunks_exact(num_classes).zip(y_true) {
        let st: f64 = row[t].into();
        let rank = row
            .iter()
            .enumerate()
            .filter(|&(j, &s)| {
                let s: f64 = s.into();
                s > st || (s == st && j > t)
            })
            .count();
        hits += usize::from(rank < k);
    }
    Ok(divide(hits as f64, y_true.len() as f64))
}

/// The predicted class of each row of scores (first maximum wins, as `argmax` does).
pub fn predicted_classes<T: Copy + Into<f64>>(
    probs: &[T],
    num_classes: usize,
) -> Result<Vec<usize>> {
    if num_classes == 0 || !probs.len().is_multiple_of(num_classes) {
        return Err(Error::invalid(format!(
            "{} scores do not split into rows of {num_classes} classes",
            probs.len()
        )));
    }
    Ok(probs
        .chunks_exact(num_classes)
        .map(|row| {
            let mut best = 0;
            for j in 1..row.len() {
                if row[j].into() > row[best].into() {
                    best = j;
                }
            }
            best
        })
        .collect())
}

/// `"0", "1", ...`: the names sklearn prints when no `target_names` are given.
pub fn default_class_names(num_classes: usize) -> Vec<String> {
    (0..num_classes).map(|c| c.to_string()).collect()
}

/// `zero_division=0`: a ratio with nothing to divide by is 0, never NaN.
fn divide(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

fn check_labels(y_true: &[usize], y_pred: &[usize], num_classes: usize) -> Result<()> {
    if num_classes == 0 {
        return Err(Error::invalid("metrics need at least one class"));
    }
    if y_true.len() != y_pred.len() {
        return Err(Error::invalid(format!(
            "{} true labels but {} predictions",
            y_true.len(),
            y_pred.len()
        )));
    }
    for (what, labels) in [("true label", y_true), ("predicted label", y_pred)] {
        if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= num_classes) {
            return Err(Error::invalid(format!(
                "{what} {l} at index {i} is out of range for {num_classes} classes"
            )));
        }
    }
    Ok(())
}

fn check_names<S: AsRef<str>>(names: &[S], num_classes: usize) -> Result<()> {
    if names.len() != num_classes {
        return Err(Error::invalid(format!(
            "{} class names given for {num_classes} classes",
            names.len()
        )));
    }
    Ok(())
}

fn check_scores<T>(probs: &[T], num_classes: usize, y_true: &[usize]) -> Result<()> {
    if num_classes == 0 || probs.len() != y_true.len() * num_classes {
        return Err(Error::invalid(format!(
            "{} scores for {} samples of {num_classes} classes (expected {})",
            probs.len(),
            y_true.len(),
            y_true.len() * num_classes
        )));
    }
    if let Some((i, &l)) = y_true.iter().enumerate().find(|&(_, &l)| l >= num_classes) {
        return Err(Error::invalid(format!(
            "true label {l} at index {i} is out of range for {num_classes} classes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Expected values come from scikit-learn, generated by
    //! `tests/fixtures/report/make_metrics_fixtures.py` into `sklearn_metrics.json`.
    use super::*;
    use serde_json::Value;

    fn fixtures() -> Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/report/sklearn_metrics.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn usizes(v: &Value) -> Vec<usize> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect()
    }

    fn close(a: f64, b: f64, what: &str) {
        assert!((a - b).abs() < 1e-12, "{what}: {a} vs sklearn {b}");
    }

    fn check_scores(ours: &Scores, theirs: &Value, what: &str) {
        close(ours.precision, theirs["precision"].as_f64().unwrap(), what);
        close(ours.recall, theirs["recall"].as_f64().unwrap(), what);
        close(ours.f1_score, theirs["f1-score"].as_f64().unwrap(), what);
        assert_eq!(
            ours.support as f64,
            theirs["support"].as_f64().unwrap(),
            "{what}"
        );
    }

    #[test]
    fn classification_report_matches_sklearn_text_and_numbers() {
        let fx = fixtures();
        let cases = fx["classification_reports"].as_array().unwrap();
        assert!(cases.len() >= 4);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let y_true = usizes(&case["y_true"]);
            let y_pred = usizes(&case["y_pred"]);
            let names: Vec<String> = case["names"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            let digits = case["digits"].as_u64().unwrap() as usize;
            let report = ClassificationReport::new(&y_true, &y_pred, &names).unwrap();
            assert_eq!(
                report.to_text(digits),
                case["text"].as_str().unwrap(),
                "case {name}"
            );

            let dict = &case["dict"];
            for c in &report.classes {
                check_scores(&c.scores, &dict[&c.name], &format!("{name}/{}", c.name));
            }
            close(report.accuracy, dict["accuracy"].as_f64().unwrap(), name);
            check_scores(&report.macro_avg, &dict["macro avg"], name);
            check_scores(&report.weighted_avg, &dict["weighted avg"], name);

            let cm = ConfusionMatrix::new(&y_true, &y_pred, names.len()).unwrap();
            let expected: Vec<Vec<u64>> =
                serde_json::from_value(case["confusion"].clone()).unwrap();
            assert_eq!(cm.to_rows(), expected, "case {name}");
        }
    }

    #[test]
    fn never_predicted_class_reports_zero_not_nan() {
        let r = ClassificationReport::new(&[0, 1, 2, 2], &[0, 1, 1, 0], &["a", "b", "c"]).unwrap();
        let c = &r.classes[2].scores;
        assert_eq!(
            (c.precision, c.recall, c.f1_score, c.support),
            (0.0, 0.0, 0.0, 2)
        );
        assert!(r.to_json().to_string().find("null").is_none());
    }

    #[test]
    fn display_uses_two_digits_and_json_keeps_class_order() {
        let r = ClassificationReport::new(&[1, 0], &[1, 0], &["zebra", "ant"]).unwrap();
        assert!(r
            .to_string()
            .contains("       zebra       1.00      1.00      1.00         1\n"));
        let j = r.to_json();
        assert_eq!(j["classes"][0]["name"], "zebra");
        assert_eq!(j["weighted avg"]["f1-score"], 1.0);
        let back: ClassificationReport = serde_json::from_value(j).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn top_k_accuracy_matches_sklearn_including_ties() {
        let fx = fixtures();
        for case in fx["top_k"].as_array().unwrap() {
            let rows: Vec<Vec<f64>> = serde_json::from_value(case["probs"].clone()).unwrap();
            let n = rows[0].len();
            let flat: Vec<f64> = rows.concat();
            let y = usizes(&case["y_true"]);
            let k = case["k"].as_u64().unwrap() as usize;
            let got = top_k_accuracy(&flat, n, &y, k).unwrap();
            close(got, case["expected"].as_f64().unwrap(), &format!("k={k}"));
            // f32 scores work the same way.
            let flat32: Vec<f32> = flat.iter().map(|&v| v as f32).collect();
            let got32 = top_k_accuracy(&flat32, n, &y, k).unwrap();
            assert!((got32 - got).abs() < 0.05, "f32 k={k}");
        }
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let e = ConfusionMatrix::new(&[0, 3], &[0, 1], 3).unwrap_err();
        assert!(e.to_string().contains("true label 3 at index 1"), "{e}");
        let e = ConfusionMatrix::new(&[0, 1], &[0], 3).unwrap_err();
        assert!(
            e.to_string().contains("2 true labels but 1 predictions"),
            "{e}"
        );
        assert!(ClassificationReport::new(&[0], &[0], &["a", "b"][..1]).is_ok());
        let cm = ConfusionMatrix::new(&[0], &[0], 2).unwrap();
        assert!(ClassificationReport::from_confusion(&cm, &["a"]).is_err());
        assert!(top_k_accuracy(&[0.5f64, 0.5], 2, &[0, 1], 1).is_err());
        assert!(top_k_accuracy(&[0.5f64, 0.5], 2, &[0], 0).is_err());
        assert!(predicted_classes(&[1.0f64, 2.0, 3.0], 2).is_err());
    }

    #[test]
    fn confusion_text_and_argmax() {
        let cm = ConfusionMatrix::new(&[0, 0, 1], &[0, 1, 1], 2).unwrap();
        assert_eq!(
            cm.to_text(&["cat", "dog"]).unwrap(),
            "true \\ pred cat dog\n        cat   1   1\n        dog   0   1\n"
        );
        assert_eq!(
            predicted_classes(&[0.1f32, 0.9, 0.7, 0.3, 0.5, 0.5], 2).unwrap(),
            [1, 0, 0]
        );
    }
}
