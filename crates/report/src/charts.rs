//! Charts as inline SVG, drawn by plotters' SVG backend.

use plotters::prelude::*;

const BAR: RGBColor = RGBColor(47, 111, 221);
const INTERVAL: RGBColor = RGBColor(29, 35, 48);

/// Horizontal bars, one per `(label, value)`, the first on top; `unit` follows values.
pub fn horizontal_bars(title: &str, bars: &[(String, f64)], unit: &str) -> String {
    let height = 90 + 32 * bars.len().max(2) as u32;
    let mut svg = String::new();
    let max = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1e-9) * 1.15;
    let n = bars.len();
    // Bar i sits at y = n - 1 - i (plotters' y grows upwards), centred on an integer.
    let label = |y: &f64| slot(*y, n).map_or(String::new(), |i| bars[n - 1 - i].0.clone());
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (600, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(label_width(bars.iter().map(|b| b.0.chars().count())))
            .build_cartesian_2d(0.0..max, -0.5..n as f64 - 0.5)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .label_style(LABEL)
            .axis_desc_style(LABEL)
            .y_labels(n)
            .y_label_formatter(&label)
            .x_labels(6)
            .x_label_formatter(&|v| trim_number(*v))
            .x_desc(unit)
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, (_, value))| {
            let y = (n - 1 - i) as f64;
            Rectangle::new([(0.0, y - 0.35), (*value, y + 0.35)], BAR.filled())
        }))?;
        chart.draw_series(bars.iter().enumerate().map(|(i, (_, value))| {
            let y = (n - 1 - i) as f64;
            Text::new(trim_number(*value), (*value + max * 0.01, y + 0.2), LABEL)
        }))?;
        root.present()?;
        Ok(())
    })();
    finish(svg, drawn.is_ok())
}

/// pass@k bars with their 95% intervals as error bars: `(k, mean, low, high)` in 0..=1, on a
/// percentage axis fitted to the intervals.
pub fn pass_at_k(bars: &[(usize, f64, f64, f64)]) -> String {
    let mut svg = String::new();
    let top = axis_top(bars.iter().map(|b| b.3));
    let n = bars.len();
    let label = |x: &f64| slot(*x, n).map_or(String::new(), |i| format!("pass@{}", bars[i].0));
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let width = 200 + 110 * n as u32;
        let root = SVGBackend::with_string(&mut svg, (width, 320)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("pass@k, 95% bootstrap interval", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .label_style(LABEL)
            .axis_desc_style(LABEL)
            .x_labels(n)
            .x_label_formatter(&label)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("% of problems")
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, bar)| {
            let x = i as f64;
            Rectangle::new([(x - 0.3, 0.0), (x + 0.3, bar.1 * 100.0)], BAR.filled())
        }))?;
        chart.draw_series(bars.iter().enumerate().map(|(i, bar)| {
            ErrorBar::new_vertical(
                i as f64,
                bar.2 * 100.0,
                bar.1 * 100.0,
                bar.3 * 100.0,
                INTERVAL.stroke_width(2),
                12,
            )
        }))?;
        root.present()?;
        Ok(())
    })();
    finish(svg, drawn.is_ok())
}

/// The bar index an axis key point stands for: bars sit on the integers 0..n, and the
/// labels asked for (n of them on a range n wide) fall on those integers.
fn slot(value: f64, n: usize) -> Option<usize> {
    let i = value.round();
    ((value - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n).then_some(i as usize)
}

/// Axis labels and values: legible at the chart's size (plotters' default is smaller, and
/// it writes a font of size s as about 0.8 s pixels: 17 comes out near 14 px).
const LABEL: (&str, u32) = ("sans-serif", 17);

/// The top of a percentage axis fitted to the data (`highs` in 0..=1): a little above the
/// highest interval, at a multiple of 10, at most 100.
fn axis_top(highs: impl Iterator<Item = f64>) -> f64 {
    let high = highs.fold(0.0_f64, f64::max) * 100.0;
    ((high * 1.1 / 10.0).ceil() * 10.0).clamp(10.0, 100.0)
}

/// Room for the longest label at 14px (about 8px a character), between 60 and 260 pixels.
fn label_width(labels: impl Iterator<Item = usize>) -> u32 {
    let longest = labels.max().unwrap_or(0) as u32;
    (longest * 8 + 16).clamp(60, 260)
}

/// A chart that could not be drawn (plotters refuses degenerate ranges) is left out, not
/// half-drawn.
fn finish(svg: String, drawn: bool) -> String {
    if drawn {
        svg
    } else {
        String::new()
    }
}

fn trim_number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_svg_with_one_rect_per_value_and_the_labels() {
        let svg = horizontal_bars(
            "outcomes",
            &[("wrong_answer".into(), 12.0), ("timeout".into(), 3.0)],
            "samples",
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("wrong_answer") && svg.contains("timeout"));
        assert!(svg.matches("<rect").count() >= 3, "background + two bars");
    }

    #[test]
    fn percentage_axes_fit_the_data() {
        assert_eq!(axis_top([0.02, 0.05].into_iter()), 10.0);
        assert_eq!(axis_top([0.378, 0.45].into_iter()), 50.0);
        assert_eq!(axis_top([0.97].into_iter()), 100.0);
    }

    /// One bar per k, labelled, and no slot without a bar; a single k still gets its bar.
    #[test]
    fn pass_at_k_draws_the_interval() {
        let svg = pass_at_k(&[(1, 0.3, 0.2, 0.4), (10, 0.6, 0.5, 0.7)]);
        assert!(
            svg.contains("\npass@1\n") && svg.contains("\npass@10\n"),
            "{svg}"
        );
        let one = pass_at_k(&[(1, 0.02, 0.01, 0.04)]);
        assert!(one.contains("\npass@1\n"), "{one}");
        assert_eq!(one.matches("fill=\"#2F6FDD\"").count(), 1, "{one}");
        assert!(svg.contains("<line") || svg.contains("<polyline"), "{svg}");
    }
}
