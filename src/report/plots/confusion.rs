//! The confusion matrix as a heatmap with the count in every cell and class names on both
//! axes (true label down the side, predicted label along the bottom), like scikit-learn's
//! `ConfusionMatrixDisplay` with the Blues colormap.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{font, render, text_width, DrawResult, Figure, PlotFiles};
use crate::error::{Error, Result};
use crate::report::metrics::ConfusionMatrix;

/// Writes `<stem>.png`/`.svg` for `cm`, naming class `i` `class_names[i]`.
pub fn confusion_heatmap<S: AsRef<str>>(
    dir: &Path,
    stem: &str,
    cm: &ConfusionMatrix,
    class_names: &[S],
) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    if class_names.len() != cm.num_classes() {
        return Err(Error::invalid(format!(
            "{} class names given for a {}-class confusion matrix",
            class_names.len(),
            cm.num_classes()
        )));
    }
    let names = class_names.iter().map(|s| s.as_ref().to_string()).collect();
    render(
        dir,
        stem,
        &Heatmap {
            cm: cm.clone(),
            names,
        },
    )
}

/// matplotlib's "Blues" colormap sampled at five stops, interpolated linearly.
pub(crate) fn blues(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (247.0, 251.0, 255.0),
        (198.0, 219.0, 239.0),
        (107.0, 174.0, 214.0),
        (33.0, 113.0, 181.0),
        (8.0, 48.0, 107.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

struct Heatmap {
    cm: ConfusionMatrix,
    names: Vec<String>,
}

const TOP: i32 = 56;
const NAME_SIZE: f64 = 15.0;

impl Heatmap {
    fn name_width(&self) -> u32 {
        self.names
            .iter()
            .map(|s| text_width(s, NAME_SIZE))
            .max()
            .unwrap_or(0)
    }

    /// Square cells wide enough for the widest column name (names are written horizontally).
    fn cell(&self) -> i32 {
        (self.name_width() as i32 + 10).clamp(44, 120)
    }

    fn left(&self) -> i32 {
        40 + self.name_width() as i32 + 12
    }
}

impl Figure for Heatmap {
    fn size(&self) -> (u32, u32) {
        let n = self.cm.num_classes() as i32;
        let side = n * self.cell();
        ((self.left() + side + 120) as u32, (TOP + side + 80) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let n = self.cm.num_classes();
        let cs = self.cell();
        let (left, side) = (self.left(), n as i32 * self.cell());
        let max = (0..n)
            .flat_map(|i| self.cm.row(i).iter().copied())
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let center = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            "Confusion matrix",
            (left + side / 2, TOP / 2),
            font(22.0).pos(center),
        ))?;
        for t in 0..n {
            for p in 0..n {
                let count = self.cm.get(t, p);
                let frac = count as f64 / max;
                let (x, y) = (left + p as i32 * cs, TOP + t as i32 * cs);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cs, y + cs)],
                    blues(frac).filled(),
                ))?;
                let ink = if frac > 0.5 { WHITE } else { BLACK };
                let text = font(15.0).color(&ink).pos(center);
                root.draw(&Text::new(
                    count.to_string(),
                    (x + cs / 2, y + cs / 2),
                    text,
                ))?;
            }
        }
        root.draw(&Rectangle::new(
            [(left, TOP), (left + side, TOP + side)],
            BLACK.stroke_width(1),
        ))?;
        // Class names: predicted along the bottom, true down the left side.
        let below = font(NAME_SIZE).pos(Pos::new(HPos::Center, VPos::Top));
        let beside = font(NAME_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
        for (i, name) in self.names.iter().enumerate() {
            let mid = i as i32 * cs + cs / 2;
            root.draw(&Text::new(
                name.clone(),
                (left + mid, TOP + side + 8),
                below.clone(),
            ))?;
            root.draw(&Text::new(
                name.clone(),
                (left - 8, TOP + mid),
                beside.clone(),
            ))?;
        }
        root.draw(&Text::new(
            "Predicted label",
            (left + side / 2, TOP + side + 50),
            font(17.0).pos(center),
        ))?;
        let rotated = font(17.0).transform(FontTransform::Rotate270).pos(center);
        root.draw(&Text::new("True label", (16, TOP + side / 2), rotated))?;
        // Colour bar: what the shades mean.
        let bx = left + side + 30;
        let steps = 64;
        for s in 0..steps {
            let y0 = TOP + side - (s + 1) * side / steps;
            let y1 = TOP + side - s * side / steps;
            let c = blues((s as f64 + 0.5) / steps as f64);
            root.draw(&Rectangle::new([(bx, y0), (bx + 18, y1)], c.filled()))?;
        }
        root.draw(&Rectangle::new(
            [(bx, TOP), (bx + 18, TOP + side)],
            BLACK.stroke_width(1),
        ))?;
        let tick_style = font(13.0).pos(Pos::new(HPos::Left, VPos::Center));
        for (frac, value) in [(0.0, 0.0), (0.5, max / 2.0), (1.0, max)] {
            let y = TOP + side - (frac * side as f64) as i32;
            let label = if value.fract() == 0.0 {
                format!("{value:.0}")
            } else {
                format!("{value:.1}")
            };
            root.draw(&Text::new(label, (bx + 24, y), tick_style.clone()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn counts_and_names_appear() {
        let dir = out_dir("confusion");
        let names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"];
        let y_true: Vec<usize> = (0..200).map(|i| i % 5).collect();
        let y_pred: Vec<usize> = (0..200)
            .map(|i| if i % 7 == 0 { (i + 1) % 5 } else { i % 5 })
            .collect();
        let cm = ConfusionMatrix::new(&y_true, &y_pred, 5).unwrap();
        let files = confusion_heatmap(&dir, "confusion", &cm, &names).unwrap();
        check_files(&files, 10_000);
        assert!(png_has_content(&files.png));
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        assert!(svg.contains("T-shirt/top") && svg.contains("Predicted label"));
        assert!(
            svg.contains(&format!(">\n{}\n<", cm.get(0, 0))),
            "diagonal count written"
        );
        assert!(confusion_heatmap(&dir, "x", &cm, &names[..4]).is_err());
    }

    #[test]
    fn blues_runs_light_to_dark() {
        assert_eq!(blues(0.0), RGBColor(247, 251, 255));
        assert_eq!(blues(1.0), RGBColor(8, 48, 107));
        assert_eq!(blues(f64::NAN), RGBColor(247, 251, 255));
    }
}
