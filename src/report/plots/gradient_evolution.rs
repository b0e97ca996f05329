//! How each layer's gradient mean and standard deviation change over epochs: shrinking stds
//! in early layers mean vanishing gradients, growing ones exploding gradients.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::curves::per_epoch;
use super::lines::{line_chart, Axes, Line};
use super::{render, series_color, DrawResult, Figure, PlotFiles};
use crate::error::{Error, Result};

/// Writes `<stem>.png`/`.svg`: left panel the gradient mean of each layer per epoch, right
/// panel the standard deviation (log scale when all values are positive, since gradient
/// scales span orders of magnitude). `means[l][e]` is layer `l` at epoch `e`.
pub fn gradient_evolution<S: AsRef<str>, V: AsRef<[f64]>>(
    dir: &Path,
    stem: &str,
    layer_names: &[S],
    means: &[V],
    stds: &[V],
) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    if layer_names.is_empty() || means.len() != layer_names.len() || stds.len() != layer_names.len()
    {
        return Err(Error::invalid(format!(
            "gradient evolution needs one mean and one std series per layer: {} layers, {} mean \
             series, {} std series",
            layer_names.len(),
            means.len(),
            stds.len()
        )));
    }
    let lines = |series: &[V]| -> Vec<Line> {
        layer_names
            .iter()
            .zip(series)
            .enumerate()
            .map(|(i, (name, values))| Line {
                name: name.as_ref().to_string(),
                points: per_epoch(values.as_ref()),
                color: series_color(i),
                markers: values.as_ref().len() <= 30,
            })
            .collect()
    };
    render(
        dir,
        stem,
        &Evolution {
            means: lines(means),
            stds: lines(stds),
        },
    )
}

struct Evolution {
    means: Vec<Line>,
    stds: Vec<Line>,
}

impl Figure for Evolution {
    fn size(&self) -> (u32, u32) {
        (1200, 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let panels = root.split_evenly((1, 2));
        let axes = |title, y_desc, log_y| Axes {
            title,
            x_desc: "epoch",
            y_desc,
            log_x: false,
            log_y,
            integer_x: true,
            legend: Some(SeriesLabelPosition::UpperRight),
        };
        line_chart(
            &panels[0],
            &axes("Gradient mean per layer", "mean", false),
            &self.means,
        )?;
        line_chart(
            &panels[1],
            &axes("Gradient std per layer", "std", true),
            &self.stds,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn renders_mean_and_log_std_panels() {
        let dir = out_dir("grad-evolution");
        let names = ["dense", "dense_1", "dense_2"];
        let means = [
            vec![1e-4, 5e-5, 2e-5],
            vec![-2e-4, -1e-4, 0.0],
            vec![3e-3, 1e-3, 5e-4],
        ];
        let stds = [
            vec![1e-3, 5e-4, 1e-4],
            vec![4e-3, 2e-3, 1e-3],
            vec![2e-2, 1e-2, 8e-3],
        ];
        let files = gradient_evolution(&dir, "grad_evolution", &names, &means, &stds).unwrap();
        check_files(&files, 10_000);
        assert!(png_has_content(&files.png));
        assert!(gradient_evolution(&dir, "x", &names, &means[..2], &stds).is_err());
    }
}
