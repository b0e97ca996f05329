//! The notebooks' questions, answered from a run's own numbers: each notebook ends its cells
//! with a paragraph on overfitting, which optimizer converges faster, dropout vs batch norm,
//! or the best L2 factor. A report's "Findings" section is computed here from the history,
//! the replicates and the gradient statistics, never written in advance, and every finding
//! quotes the numbers it rests on.
//!
//! ```
//! use nabla::report::findings::{history_findings, Kind};
//! let loss = [0.42, 0.12, 0.08, 0.06, 0.04];
//! let val_loss = [0.14, 0.10, 0.09, 0.11, 0.13];
//! let found = history_findings(&loss, &val_loss);
//! assert!(found.iter().any(|f| f.kind == Kind::Overfitting));
//! assert!(found[0].text.contains("epoch 3 (0.0900)"));
//! ```

use serde::Serialize;

/// What a finding is about, so tests and reports can tell them apart without reading prose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Where the validation loss was lowest, against the last epoch.
    BestEpoch,
    /// Validation loss rose from its minimum while the training loss kept falling.
    Overfitting,
    /// The gap between validation and training loss, and whether it widened.
    Gap,
    /// The best of several variants, and whether it beats the next beyond the replicates'
    /// spread.
    BestVariant,
    /// The best variants are within the replicates' spread of each other.
    WithinNoise,
    /// The sweep value with the best mean.
    BestFactor,
    /// A layer whose gradient is exactly zero (no signal reaches its weights).
    DeadLayer,
    /// A layer whose gradient is orders of magnitude below the largest layer's.
    VanishingLayer,
    /// A staged run's ranking against fresh models' (notebook 002's confound).
    StagedVsFair,
}

/// One finding: its kind and a sentence that cites its numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub text: String,
}

fn finding(kind: Kind, text: String) -> Finding {
    Finding { kind, text }
}

/// A relative rise below this is noise in the last digits, not a trend.
const RISE: f64 = 0.02;

/// Findings from one run's per-epoch training and validation loss.
pub fn history_findings(loss: &[f64], val_loss: &[f64]) -> Vec<Finding> {
    let mut found = Vec::new();
    let n = val_loss.len().min(loss.len());
    if n == 0 {
        return found;
    }
    let (best, best_value) =
        val_loss[..n]
            .iter()
            .copied()
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |acc, (i, v)| if v < acc.1 { (i, v) } else { acc },
            );
    let last = val_loss[n - 1];
    if best + 1 == n {
        found.push(finding(
            Kind::BestEpoch,
            format!(
                "Validation loss was lowest at the last epoch, {n} ({best_value:.4}): it was still falling, so more epochs may help."
            ),
        ));
    } else {
        let rise = (last - best_value) / best_value.abs().max(f64::MIN_POSITIVE);
        found.push(finding(
            Kind::BestEpoch,
            format!(
                "Validation loss was lowest at epoch {} ({best_value:.4}) and ended at {last:.4} at epoch {n}, {:.1}% above its minimum.",
                best + 1,
                100.0 * rise
            ),
        ));
        let train_fell = loss[n - 1] < loss[best];
        if rise > RISE && train_fell {
            found.push(finding(
                Kind::Overfitting,
                format!(
                    "Overfitting: after epoch {} the training loss kept falling ({:.4} → {:.4}) while the validation loss rose ({best_value:.4} → {last:.4}); stopping at epoch {} keeps the best validation loss.",
                    best + 1,
                    loss[best],
                    loss[n - 1],
                    best + 1
                ),
            ));
        }
    }
    let gap = |i: usize| val_loss[i] - loss[i];
    let (first_gap, last_gap) = (gap(0), gap(n - 1));
    let trend = if n < 2 {
        "after one epoch".to_string()
    } else if last_gap > first_gap + RISE * loss[n - 1].abs().max(1e-12) {
        format!("up from {first_gap:.4} at epoch 1")
    } else if last_gap < first_gap - RISE * loss[n - 1].abs().max(1e-12) {
        format!("down from {first_gap:.4} at epoch 1")
    } else {
        format!("about as at epoch 1 ({first_gap:.4})")
    };
    found.push(finding(
        Kind::Gap,
        format!(
            "Validation minus training loss at the last epoch: {last_gap:.4} ({:.4} − {:.4}), {trend}.",
            val_loss[n - 1],
            loss[n - 1]
        ),
    ));
    found
}

/// Mean and population standard deviation (numpy's default, ddof = 0).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Compares variants by `metric` (higher is better when `higher_better`), each with its
/// replicates' final values: the best one, and whether its lead over the runner-up exceeds
/// the replicates' spread (the larger of the two standard deviations).
pub fn variant_findings(
    variants: &[(String, Vec<f64>)],
    metric: &str,
    higher_better: bool,
) -> Vec<Finding> {
    let mut ranked: Vec<(&str, f64, f64, usize)> = variants
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, v)| {
            let (m, s) = mean_std(v);
            (name.as_str(), m, s, v.len())
        })
        .collect();
    if ranked.len() < 2 {
        return Vec::new();
    }
    ranked.sort_by(|a, b| {
        let order = a.1.total_cmp(&b.1);
        if higher_better {
            order.reverse()
        } else {
            order
        }
    });
    let (best, second) = (ranked[0], ranked[1]);
    let lead = (best.1 - second.1).abs();
    let spread = best.2.max(second.2);
    let cite = |v: (&str, f64, f64, usize)| match v.3 {
        1 => format!("{} {:.4}", v.0, v.1),
        n => format!("{} {:.4} ± {:.4} (n = {n})", v.0, v.1, v.2),
    };
    let mut found = vec![finding(
        Kind::BestVariant,
        format!("Best by {metric}: {}; next: {}.", cite(best), cite(second)),
    )];
    if best.3 < 2 || second.3 < 2 {
        found.push(finding(
            Kind::WithinNoise,
            format!(
                "With one run per variant there is no spread to judge a lead of {lead:.4} against: train replicates before calling a winner."
            ),
        ));
    } else if lead > spread {
        found[0].text += &format!(
            " Its lead of {lead:.4} exceeds the replicates' spread (std up to {spread:.4})."
        );
    } else {
        found.push(finding(
            Kind::WithinNoise,
            format!(
                "{} and {} are within noise: the lead of {lead:.4} is no larger than the replicates' spread (std up to {spread:.4}).",
                best.0, second.0
            ),
        ));
    }
    found
}

/// The sweep value (e.g. an L2 factor) with the best mean `metric` over its replicates.
pub fn best_factor(
    key: &str,
    points: &[(f64, Vec<f64>)],
    metric: &str,
    higher_better: bool,
) -> Option<Finding> {
    let stats: Vec<(f64, f64, f64)> = points
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(x, v)| {
            let (m, s) = mean_std(v);
            (*x, m, s)
        })
        .collect();
    let better = |a: f64, b: f64| if higher_better { a > b } else { a < b };
    let best = stats
        .iter()
        .copied()
        .reduce(|a, b| if better(b.1, a.1) { b } else { a })?;
    let others: Vec<String> = stats
        .iter()
        .filter(|s| s.0 != best.0)
        .map(|s| format!("{:e}: {:.4} ± {:.4}", s.0, s.1, s.2))
        .collect();
    Some(finding(
        Kind::BestFactor,
        format!(
            "{key} = {:e} gives the best mean {metric}, {:.4} ± {:.4}; the others: {}.",
            best.0,
            best.1,
            best.2,
            others.join(", ")
        ),
    ))
}

/// A layer's gradient this many times below the largest layer's counts as vanishing.
const VANISHING_RATIO: f64 = 1e-3;

/// Dead and vanishing layers from per-layer gradient standard deviations (one probe).
pub fn gradient_findings(layers: &[(String, f64)]) -> Vec<Finding> {
    let largest = layers.iter().map(|(_, s)| *s).fold(0.0_f64, f64::max);
    let mut found = Vec::new();
    for (name, std) in layers {
        if *std == 0.0 {
            found.push(finding(
                Kind::DeadLayer,
                format!("{name}: gradient std is exactly 0 — no signal reaches these weights (dead ReLUs upstream, or a layer cut off from the loss)."),
            ));
        } else if largest > 0.0 && *std < VANISHING_RATIO * largest {
            found.push(finding(
                Kind::VanishingLayer,
                format!(
                    "{name}: gradient std {std:.3e} is {:.0}× below the largest layer's ({largest:.3e}) — a vanishing gradient.",
                    largest / std
                ),
            ));
        }
    }
    found
}

/// Notebook 002's confound, measured: the staged run's last validation accuracy per stage
/// (each stage continuing from the one before) against fresh models with replicates.
pub fn staged_vs_fair(staged: &[(String, f64)], fair: &[(String, Vec<f64>)]) -> Option<Finding> {
    if staged.len() < 2 || fair.len() < 2 {
        return None;
    }
    let order = |mut v: Vec<(String, f64)>| {
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v.into_iter().map(|(n, _)| n).collect::<Vec<_>>()
    };
    let fair_means: Vec<(String, f64)> = fair
        .iter()
        .map(|(n, v)| (n.clone(), mean_std(v).0))
        .collect();
    let staged_order = order(staged.to_vec());
    let fair_order = order(fair_means.clone());
    let cite_staged: Vec<String> = staged.iter().map(|(n, v)| format!("{n} {v:.4}")).collect();
    let cite_fair: Vec<String> = fair
        .iter()
        .map(|(n, v)| {
            let (m, s) = mean_std(v);
            format!("{n} {m:.4} ± {s:.4}")
        })
        .collect();
    let verdict = if staged_order == fair_order {
        "The two rankings agree here, but only the fresh models' can be read as a comparison of the choices themselves."
    } else {
        "The rankings differ: in the staged run each choice starts from the weights the one before left, so its number reflects the order of training as much as the choice."
    };
    // Whether the fresh models' own ranking is more than noise: the lead of the best over
    // the next against the larger of their standard deviations.
    let stats = |name: &str| {
        let values = &fair
            .iter()
            .find(|(n, _)| n == name)
            .expect("ranked from fair")
            .1;
        mean_std(values)
    };
    let (best, next) = (&fair_order[0], &fair_order[1]);
    let ((m1, s1), (m2, s2)) = (stats(best), stats(next));
    let (lead, spread) = (m1 - m2, s1.max(s2));
    let noise = match lead > spread {
        true => format!(
            "Among the fresh models, {best}'s lead over {next} ({lead:.4}) exceeds the replicates' spread (std up to {spread:.4})."
        ),
        false => format!(
            "Among the fresh models, {best} and {next} are within noise: a lead of {lead:.4} against a spread of up to {spread:.4}."
        ),
    };
    Some(finding(
        Kind::StagedVsFair,
        format!(
            "One model trained in sequence ranks {} (final validation accuracy per stage: {}); fresh models rank {} ({}). {verdict} {noise}",
            staged_order.join(" > "),
            cite_staged.join(", "),
            fair_order.join(" > "),
            cite_fair.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(found: &[Finding]) -> Vec<Kind> {
        found.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn an_overfitting_run_is_called_overfitting() {
        // Notebook 003's standardized MLP, epochs 1-20 as its log prints them.
        let loss = [
            1.8277, 1.5710, 1.4656, 1.3996, 1.3403, 1.2928, 1.2469, 1.2054, 1.1631, 1.1277, 1.0932,
            1.0599, 1.0274, 0.9989, 0.9735, 0.9403, 0.9196, 0.8943, 0.8707, 0.8475,
        ];
        let val = [
            1.6556, 1.5855, 1.5413, 1.4827, 1.4949, 1.4569, 1.4566, 1.5066, 1.5076, 1.4855, 1.5063,
            1.5737, 1.5459, 1.5513, 1.5673, 1.6597, 1.6429, 1.6633, 1.7110, 1.7527,
        ];
        let found = history_findings(&loss, &val);
        assert_eq!(
            kinds(&found),
            [Kind::BestEpoch, Kind::Overfitting, Kind::Gap]
        );
        assert!(
            found[0].text.contains("epoch 7 (1.4566)"),
            "{}",
            found[0].text
        );
        assert!(found[0]
            .text
            .contains("ended at 1.7527 at epoch 20, 20.3% above"));
        assert!(
            found[1].text.contains("(1.2469 → 0.8475)"),
            "{}",
            found[1].text
        );
        assert!(found[2]
            .text
            .contains("0.9052 (1.7527 − 0.8475), up from -0.1721"));
    }

    #[test]
    fn a_run_still_improving_is_not_overfitting() {
        // Notebook 004's 64-64 SGD MLP: validation loss falls every epoch to the last.
        let loss = [
            0.4797, 0.2318, 0.1764, 0.1442, 0.1225, 0.1067, 0.0942, 0.0839, 0.0761, 0.0696,
        ];
        let val = [
            0.2564, 0.1946, 0.1586, 0.1363, 0.1270, 0.1116, 0.1039, 0.1021, 0.0958, 0.0879,
        ];
        let found = history_findings(&loss, &val);
        assert_eq!(kinds(&found), [Kind::BestEpoch, Kind::Gap]);
        assert!(found[0]
            .text
            .contains("lowest at the last epoch, 10 (0.0879)"));
        assert!(
            found[1]
                .text
                .contains("0.0183 (0.0879 − 0.0696), up from -0.2233"),
            "{}",
            found[1].text
        );
    }

    #[test]
    fn variants_within_noise_are_said_to_be() {
        let close = [
            ("dropout".to_string(), vec![0.72, 0.70, 0.74]),
            ("batchnorm".to_string(), vec![0.71, 0.69, 0.73]),
            ("plain".to_string(), vec![0.60, 0.61, 0.59]),
        ];
        let found = variant_findings(&close, "val_accuracy", true);
        assert_eq!(kinds(&found), [Kind::BestVariant, Kind::WithinNoise]);
        assert!(
            found[0].text.contains("dropout 0.7200 ± 0.0163 (n = 3)"),
            "{}",
            found[0].text
        );
        assert!(
            found[1].text.contains("lead of 0.0100"),
            "{}",
            found[1].text
        );

        let apart = [
            ("dropout".to_string(), vec![0.72, 0.73, 0.74]),
            ("plain".to_string(), vec![0.60, 0.61, 0.59]),
        ];
        let found = variant_findings(&apart, "val_accuracy", true);
        assert_eq!(kinds(&found), [Kind::BestVariant]);
        assert!(found[0].text.contains("exceeds the replicates' spread"));

        // Lower is better for a loss.
        let losses = [("a".to_string(), vec![0.9]), ("b".to_string(), vec![0.8])];
        let found = variant_findings(&losses, "val_loss", false);
        assert!(found[0].text.starts_with("Best by val_loss: b 0.8000"));
        assert_eq!(
            found[1].kind,
            Kind::WithinNoise,
            "one run each has no spread"
        );
    }

    #[test]
    fn the_best_l2_factor_is_the_best_mean() {
        let points = [
            (1e-6, vec![0.980, 0.981, 0.979]),
            (1e-4, vec![0.983, 0.984, 0.982]),
            (1e-3, vec![0.975, 0.976, 0.974]),
        ];
        let f = best_factor("model.l2", &points, "val_accuracy", true).unwrap();
        assert!(
            f.text
                .starts_with("model.l2 = 1e-4 gives the best mean val_accuracy, 0.9830 ± 0.0008"),
            "{}",
            f.text
        );
        assert!(best_factor("model.l2", &[], "val_accuracy", true).is_none());
    }

    #[test]
    fn dead_and_vanishing_layers_are_named() {
        let layers = [
            ("dense/kernel".to_string(), 2e-3),
            ("dense_1/kernel".to_string(), 0.0),
            ("dense_2/kernel".to_string(), 1e-7),
            ("dense_3/kernel".to_string(), 5e-4),
        ];
        let found = gradient_findings(&layers);
        assert_eq!(kinds(&found), [Kind::DeadLayer, Kind::VanishingLayer]);
        assert!(found[0].text.starts_with("dense_1/kernel"));
        assert!(found[1].text.contains("20000× below"), "{}", found[1].text);
    }

    #[test]
    fn staged_and_fair_rankings_are_compared() {
        let staged = [
            ("Adam".to_string(), 0.2603),
            ("SGD".to_string(), 0.2940),
            ("RMSprop".to_string(), 0.2975),
        ];
        let fair = [
            ("Adam".to_string(), vec![0.45, 0.46, 0.44]),
            ("SGD".to_string(), vec![0.35, 0.36, 0.34]),
            ("RMSprop".to_string(), vec![0.40, 0.41, 0.39]),
        ];
        let f = staged_vs_fair(&staged, &fair).unwrap();
        assert!(f.text.contains("ranks RMSprop > SGD > Adam"), "{}", f.text);
        assert!(f.text.contains("fresh models rank Adam > RMSprop > SGD"));
        assert!(f.text.contains("The rankings differ"));
        assert!(
            f.text.contains("Adam's lead over RMSprop (0.0500) exceeds"),
            "{}",
            f.text
        );
        let noisy = [
            ("Adam".to_string(), vec![0.45, 0.35, 0.40]),
            ("SGD".to_string(), vec![0.30, 0.31, 0.29]),
            ("RMSprop".to_string(), vec![0.39, 0.41, 0.37]),
        ];
        let f = staged_vs_fair(&staged, &noisy).unwrap();
        assert!(
            f.text.contains("Adam and RMSprop are within noise"),
            "{}",
            f.text
        );
    }
}
