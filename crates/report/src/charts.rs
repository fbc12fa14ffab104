//! Charts as inline SVG, drawn by plotters' SVG backend.

use plotters::prelude::*;

const BAR: RGBColor = RGBColor(47, 111, 221);
const INTERVAL: RGBColor = RGBColor(29, 35, 48);

/// Horizontal bars, one per `(label, value)`, longest scale first; `unit` follows values.
pub fn horizontal_bars(title: &str, bars: &[(String, f64)], unit: &str) -> String {
    let height = 70 + 26 * bars.len().max(1) as u32;
    let mut svg = String::new();
    let max = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1e-9) * 1.15;
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (560, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(190)
            .build_cartesian_2d(0.0..max, (0..bars.len()).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .y_labels(bars.len())
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars.get(*i).map_or(String::new(), |b| b.0.clone()),
                _ => String::new(),
            })
            .x_desc(unit)
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, (_, value))| {
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (*value, SegmentValue::Exact(i + 1)),
                ],
                BAR.filled(),
            );
            bar.set_margin(4, 4, 0, 0);
            bar
        }))?;
        chart.draw_series(bars.iter().enumerate().map(|(i, (_, value))| {
            Text::new(
                trim_number(*value),
                (*value + max * 0.01, SegmentValue::CenterOf(i)),
                ("sans-serif", 13),
            )
        }))?;
        root.present()?;
        Ok(())
    })();
    finish(svg, drawn.is_ok())
}

/// pass@k bars with their 95% intervals as error bars: `(k, mean, low, high)` in 0..=1.
pub fn pass_at_k(bars: &[(usize, f64, f64, f64)]) -> String {
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (420, 300)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("pass@k with 95% bootstrap interval", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d((0..bars.len()).into_segmented(), 0.0..100.0)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(bars.len())
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars
                    .get(*i)
                    .map_or(String::new(), |b| format!("pass@{}", b.0)),
                _ => String::new(),
            })
            .y_desc("%")
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, bar)| {
            let mut rect = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), bar.1 * 100.0),
                ],
                BAR.filled(),
            );
            rect.set_margin(0, 0, 18, 18);
            rect
        }))?;
        chart.draw_series(bars.iter().enumerate().map(|(i, bar)| {
            ErrorBar::new_vertical(
                SegmentValue::CenterOf(i),
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
    fn pass_at_k_draws_the_interval() {
        let svg = pass_at_k(&[(1, 0.3, 0.2, 0.4), (10, 0.6, 0.5, 0.7)]);
        assert!(svg.contains("pass@10"));
        assert!(svg.contains("<line") || svg.contains("<polyline"), "{svg}");
    }
}
