//! The one line chart behind the curve plots: named lines against x, linear or log axes,
//! optional markers and a legend. Each plot file decides what to put in it.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{font, padded_range, DrawResult};

/// A named polyline; non-finite points are dropped (a NaN epoch leaves a gap, not a crash).
pub(crate) struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub markers: bool,
}

/// Titles and axis choices for one chart.
pub(crate) struct Axes<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub log_x: bool,
    pub log_y: bool,
    /// Label only whole-number x ticks (epochs).
    pub integer_x: bool,
    pub legend: Option<SeriesLabelPosition>,
}

/// Draws `lines` on `area`. A log axis is used only if every value on it is positive.
pub(crate) fn line_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    axes: &Axes,
    lines: &[Line],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let xs = || lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let ys = || lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let log_x = axes.log_x && all_positive(xs());
    let log_y = axes.log_y && all_positive(ys());
    let (x0, x1) = if log_x {
        log_range(xs())
    } else {
        padded_range(xs())
    };
    let (y0, y1) = if log_y {
        log_range(ys())
    } else {
        padded_range(ys())
    };
    match (log_x, log_y) {
        (false, false) => draw_with(area, axes, lines, (x0..x1, false), (y0..y1, false)),
        (true, false) => draw_with(
            area,
            axes,
            lines,
            ((x0..x1).log_scale(), true),
            (y0..y1, false),
        ),
        (false, true) => draw_with(
            area,
            axes,
            lines,
            (x0..x1, false),
            ((y0..y1).log_scale(), true),
        ),
        (true, true) => draw_with(
            area,
            axes,
            lines,
            ((x0..x1).log_scale(), true),
            ((y0..y1).log_scale(), true),
        ),
    }
}

fn draw_with<DB, X, Y>(
    area: &DrawingArea<DB, Shift>,
    axes: &Axes,
    lines: &[Line],
    (x, log_x): (X, bool),
    (y, log_y): (Y, bool),
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(axes.title, font(22.0))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(x, y)?;
    let integer_x = axes.integer_x;
    let x_tick = range_formatter(chart.x_range(), log_x);
    let x_fmt = move |v: &f64| {
        if integer_x && (v.fract().abs() > 1e-9) {
            String::new()
        } else {
            x_tick(v)
        }
    };
    let y_fmt = range_formatter(chart.y_range(), log_y);
    let mut mesh = chart.configure_mesh();
    if integer_x {
        // One label per whole number when there are few (epochs 1..n), so no grid lines
        // fall between epochs.
        let (x_min, x_max) = xs_span(lines);
        let whole = (x_max.floor() - x_min.ceil()) as usize + 1;
        mesh.x_labels(whole.clamp(2, 12));
    }
    mesh.x_desc(axes.x_desc)
        .y_desc(axes.y_desc)
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for line in lines {
        let points: Vec<(f64, f64)> = line
            .points
            .iter()
            .copied()
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .collect();
        let color = line.color;
        let series = chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
        if axes.legend.is_some() {
            series.label(line.name.clone()).legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
        if line.markers {
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )?;
        }
    }
    if let Some(position) = axes.legend.clone() {
        chart
            .configure_series_labels()
            .label_font(font(14.0))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(position)
            .draw()?;
    }
    Ok(())
}

fn xs_span(lines: &[Line]) -> (f64, f64) {
    let xs = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .filter(|x| x.is_finite());
    xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    })
}

fn all_positive(values: impl Iterator<Item = f64>) -> bool {
    let mut any = false;
    for v in values.filter(|v| v.is_finite()) {
        if v <= 0.0 {
            return false;
        }
        any = true;
    }
    any
}

/// A log axis range padded by a fraction of a decade on each side.
pub(crate) fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.1, 10.0);
    }
    (lo / 10f64.powf(0.15), hi * 10f64.powf(0.15))
}

/// Tick labels for a linear axis over `lo..hi`: values within rounding of zero print as
/// "0" (not "-2.2e-16"), and an axis whose values are all tiny or huge uses `1e-4` style
/// throughout so neighbouring ticks read alike.
pub(crate) fn tick_formatter(lo: f64, hi: f64) -> impl Fn(&f64) -> String {
    let span = (hi - lo).abs();
    let biggest = lo.abs().max(hi.abs());
    let scientific = biggest > 0.0 && !(1e-2..1e5).contains(&biggest);
    move |&v: &f64| {
        if v.abs() <= span * 1e-9 {
            "0".to_string()
        } else if scientific {
            format!("{v:.1e}").replace(".0e", "e")
        } else {
            tick(v)
        }
    }
}

fn range_formatter(range: std::ops::Range<f64>, log: bool) -> Box<dyn Fn(&f64) -> String> {
    if log {
        // A log axis that reaches below 0.01 reads best all in powers of ten.
        let scientific = range.start < 1e-2 || range.end >= 1e5;
        Box::new(move |&v: &f64| {
            if scientific {
                format!("{v:.1e}").replace(".0e", "e")
            } else {
                tick(v)
            }
        })
    } else {
        Box::new(tick_formatter(range.start, range.end))
    }
}

/// Tick text: plain decimals for ordinary magnitudes, `1e-6` style for tiny or huge ones.
pub(crate) fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.1e}");
        // "1.0e-6" -> "1e-6"
        return s.replace(".0e", "e");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_like_matplotlib() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(3.0), "3");
        assert_eq!(tick(1e-6), "1e-6");
        assert_eq!(tick(2.5e-4), "2.5e-4");
        assert_eq!(tick(-0.00001), "-1e-5");
        let f = tick_formatter(-1.1, 1.1);
        assert_eq!(f(&-2.2e-16), "0");
        let g = tick_formatter(-0.001, 0.0025);
        assert_eq!(
            (g(&0.0015), g(&-5e-4)),
            ("1.5e-3".to_string(), "-5e-4".to_string())
        );
    }
}
