//! Drawing the report's charts as PNG bytes (plotters into an RGB buffer, encoded by `image`).
//!
//! Text is drawn with DejaVu Sans, embedded in the binary and registered with plotters' ab_glyph
//! font support, so no system font or fontconfig is needed. Axis ranges come from
//! [`ranges`], which keeps extreme and non-finite values from reaching plotters.

use std::io::Cursor;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Point, RoundBoundary};

mod acceptance;
mod calibration;
mod confusion;
mod lines;
mod ranges;

pub use acceptance::acceptance_chart;
pub use calibration::calibration_chart;
pub use confusion::{confusion_chart, heat_colour};
pub use lines::{accuracy_chart, loss_chart};

/// Size in pixels of the line and bar charts (`loss.png`, `accuracy.png`, `acceptance.png`).
pub const CHART_SIZE: (u32, u32) = (1200, 675);
/// Size in pixels of `confusion.png`.
pub const CONFUSION_SIZE: (u32, u32) = (1000, 900);
/// Size in pixels of `calibration.png`.
pub const CALIBRATION_SIZE: (u32, u32) = (1000, 900);

/// DejaVu Sans (see `assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The family name the charts use.
const FAMILY: &str = "sans-serif";

const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(230, 159, 0);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const VERMILION: RGBColor = RGBColor(213, 94, 0);
const PURPLE: RGBColor = RGBColor(204, 121, 167);
const GREY: RGBColor = RGBColor(120, 120, 120);
const LIGHT_GREY: RGBColor = RGBColor(225, 225, 225);

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Registers the embedded font with plotters (once).
fn register_font() -> anyhow::Result<()> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok()
            && plotters::style::register_font(FAMILY, FontStyle::Bold, FONT).is_ok()
    });
    anyhow::ensure!(ok, "the embedded chart font could not be loaded");
    Ok(())
}

/// Draws into a white `size` canvas with `draw` and returns the PNG bytes.
fn render(
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<u8>> {
    register_font()?;
    let (w, h) = size;
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    let image = image::RgbImage::from_raw(w, h, buf)
        .ok_or_else(|| anyhow::anyhow!("chart buffer has the wrong size"))?;
    let mut png = Vec::new();
    image.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}

fn font(size: f64) -> TextStyle<'static> {
    (FAMILY, size).into_font().into()
}

fn title_font() -> TextStyle<'static> {
    (FAMILY, 26.0, FontStyle::Bold).into_font().into()
}

/// A chart with only a title and a message in the middle (for data not there yet).
fn placeholder(area: &Area, title: &str, message: &str) -> anyhow::Result<()> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 30),
        title_font().pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    area.draw(&Text::new(
        message.to_string(),
        (w as i32 / 2, h as i32 / 2),
        font(22.0)
            .color(&GREY)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(())
}

/// At most `max` points, evenly picked (always keeping the last), for drawing long series.
fn thin(points: &[Point], max: usize) -> Vec<Point> {
    if points.len() <= max || max < 2 {
        return points.to_vec();
    }
    let stride = points.len().div_ceil(max);
    let mut out: Vec<Point> = points.iter().step_by(stride).copied().collect();
    if out.last() != points.last() {
        out.extend(points.last());
    }
    out
}

/// Draws the title centred at the top of `root` and returns the area below it.
fn titled<'a>(root: &Area<'a>, title: &str) -> anyhow::Result<Area<'a>> {
    let (w, _) = root.dim_in_pixel();
    root.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 28),
        title_font().pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(root.split_vertically(50).1)
}

/// Draws the round boundaries as dashed vertical lines, labelled just above the plotting area
/// (on `root`), skipping labels that would crowd the previous one.
fn draw_boundaries(
    root: &Area,
    chart: &mut ChartContext<'_, BitMapBackend<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    boundaries: &[RoundBoundary],
    y: std::ops::Range<f64>,
) -> anyhow::Result<()> {
    let style = ShapeStyle::from(&GREY.mix(0.7)).stroke_width(1);
    let x_range = chart.x_range();
    let plot_top = chart.plotting_area().get_pixel_range().1.start;
    let mut last_label_end: Option<i32> = None;
    for b in boundaries {
        if b.step < x_range.start || b.step > x_range.end {
            continue;
        }
        chart.draw_series(DashedLineSeries::new(
            [(b.step, y.start), (b.step, y.end)],
            6,
            4,
            style,
        ))?;
        let (px, _) = chart.backend_coord(&(b.step, y.end));
        let label = if last_label_end.is_none() {
            format!("round {}", b.round)
        } else {
            format!("{}", b.round)
        };
        let label_font = font(13.0).color(&GREY);
        let width = root
            .estimate_text_size(&label, &label_font)
            .map_or(30, |s| s.0 as i32);
        if last_label_end.is_none_or(|end| px - width / 2 >= end + 6) {
            root.draw(&Text::new(
                label,
                (px, plot_top - 4),
                label_font.pos(Pos::new(HPos::Center, VPos::Bottom)),
            ))?;
            last_label_end = Some(px + width / 2);
        }
    }
    Ok(())
}

/// Markers to draw for a series: all of them when there are few, else none.
fn markers(points: &[Point], max: usize) -> &[Point] {
    if points.len() <= max { points } else { &[] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{AccuracySeries, LossSeries};

    #[test]
    fn heat_colours_run_from_white_to_dark_blue() {
        assert_eq!(heat_colour(0.0), RGBColor(247, 251, 255));
        assert_eq!(heat_colour(1.0), RGBColor(8, 48, 107));
        assert_eq!(heat_colour(0.25), RGBColor(128, 150, 181));
        assert_eq!(heat_colour(f64::NAN), heat_colour(0.0));
        assert_eq!(heat_colour(7.0), heat_colour(1.0));
    }

    #[test]
    fn thinning_keeps_the_ends() {
        let p: Vec<Point> = (0..10).map(|i| (i as f64, 0.0)).collect();
        let t = thin(&p, 4);
        assert!(t.len() <= 5, "{t:?}");
        assert_eq!(t.first(), p.first());
        assert_eq!(t.last(), p.last());
        assert_eq!(thin(&p, 100), p);
    }

    #[test]
    fn empty_inputs_give_placeholder_pngs_of_the_right_size() {
        for png in [
            loss_chart(&LossSeries::default()).unwrap(),
            accuracy_chart(&AccuracySeries::default()).unwrap(),
            acceptance_chart(&[]).unwrap(),
        ] {
            let img = image::load_from_memory(&png).unwrap();
            assert_eq!((img.width(), img.height()), CHART_SIZE);
        }
        let img = image::load_from_memory(&confusion_chart(None, &[]).unwrap()).unwrap();
        assert_eq!((img.width(), img.height()), CONFUSION_SIZE);
        let img = image::load_from_memory(&calibration_chart(None, None, "").unwrap()).unwrap();
        assert_eq!((img.width(), img.height()), CALIBRATION_SIZE);
    }
}
