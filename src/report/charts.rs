//! Drawing the report's charts as PNG bytes (plotters into an RGB buffer, encoded by `image`).
//!
//! Text is drawn with DejaVu Sans, embedded in the binary and registered with plotters' ab_glyph
//! font support, so no system font or fontconfig is needed.

use std::io::Cursor;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{AcceptanceRow, AccuracySeries, ConfusionChoice, LossSeries, Point, RoundBoundary};

/// Size in pixels of the line and bar charts (`loss.png`, `accuracy.png`, `acceptance.png`).
pub const CHART_SIZE: (u32, u32) = (1200, 675);
/// Size in pixels of `confusion.png`.
pub const CONFUSION_SIZE: (u32, u32) = (1000, 900);

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

/// The x range of some series (at least one step wide).
fn x_range<'a>(series: impl IntoIterator<Item = &'a [Point]>) -> std::ops::Range<f64> {
    let (lo, hi) = series
        .into_iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(x, _)| {
            (lo.min(x), hi.max(x))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    if hi - lo < 1.0 {
        return lo - 0.5..lo + 0.5;
    }
    lo..hi
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

/// `loss.png`: the optimized loss and its parts over optimizer steps, smoothed, with the raw
/// total faint behind, and round boundaries.
pub fn loss_chart(s: &LossSeries) -> anyhow::Result<Vec<u8>> {
    const TITLE: &str = "Training loss";
    render(CHART_SIZE, |root| {
        if s.total.is_empty() && s.supervised.is_empty() {
            return placeholder(root, TITLE, "no training step recorded yet");
        }
        let window = super::smoothing_window(s.total.len().max(s.supervised.len()));
        let total = super::smooth(&s.total, window);
        let supervised = super::smooth(&s.supervised, window);
        let pseudo = super::smooth(&s.pseudo, super::smoothing_window(s.pseudo.len()));
        let x = x_range([&s.total[..], &s.supervised[..], &s.pseudo[..]]);
        // The y range fits the smoothed curves (raw spikes are clipped), from 0.
        let top = total
            .iter()
            .chain(&supervised)
            .chain(&pseudo)
            .map(|p| p.1)
            .fold(0.0_f64, f64::max);
        let y = 0.0..(top * 1.1).max(1e-3);
        let caption = if window > 1 {
            format!("{TITLE} (moving average over {window} steps)")
        } else {
            TITLE.to_string()
        };
        let body = titled(root, &caption)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .margin_top(24)
            .margin_right(30)
            .x_label_area_size(55)
            .y_label_area_size(75)
            .build_cartesian_2d(x.clone(), y.clone())?;
        chart
            .configure_mesh()
            .light_line_style(LIGHT_GREY.mix(0.5))
            .bold_line_style(LIGHT_GREY)
            .x_desc("optimizer step")
            .y_desc("cross-entropy loss")
            .label_style(font(15.0))
            .axis_desc_style(font(18.0))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        draw_boundaries(root, &mut chart, &s.boundaries, y.clone())?;
        if window > 1 {
            chart
                .draw_series(LineSeries::new(
                    thin(&s.total, 4000),
                    GREY.mix(0.35).stroke_width(1),
                ))?
                .label("total, per step")
                .legend(|(x, y)| {
                    PathElement::new([(x, y), (x + 24, y)], GREY.mix(0.5).stroke_width(2))
                });
        }
        // The total first: in warm-up it equals the supervised loss, drawn over it.
        let lines: [(&[Point], RGBColor, &str); 3] = [
            (
                &total,
                RGBColor(30, 30, 30),
                "total = supervised + λ·pseudo",
            ),
            (&supervised, BLUE, "supervised (labelled samples)"),
            (&pseudo, VERMILION, "pseudo-label (pseudo-labelled samples)"),
        ];
        for (points, colour, label) in lines {
            if points.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(thin(points, 4000), colour.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(3))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(GREY)
            .label_font(font(15.0))
            .draw()?;
        Ok(())
    })
}

/// Markers to draw for a series: all of them when there are few, else none.
fn markers(points: &[Point], max: usize) -> &[Point] {
    if points.len() <= max { points } else { &[] }
}

/// `accuracy.png`: validation and test accuracy over optimizer steps, and the accuracy of each
/// round's accepted pseudo-labels against hidden truth.
pub fn accuracy_chart(s: &AccuracySeries) -> anyhow::Result<Vec<u8>> {
    const TITLE: &str = "Accuracy";
    render(CHART_SIZE, |root| {
        if s.validation.is_empty() && s.test.is_empty() && s.pseudo.is_empty() {
            return placeholder(root, TITLE, "no evaluation recorded yet");
        }
        let pct = |p: &[Point]| p.iter().map(|&(x, y)| (x, y * 100.0)).collect::<Vec<_>>();
        let (val, test, pseudo) = (pct(&s.validation), pct(&s.test), pct(&s.pseudo));
        let x = x_range([&val[..], &test[..], &pseudo[..]]);
        let lowest = val
            .iter()
            .chain(&test)
            .chain(&pseudo)
            .map(|p| p.1)
            .fold(100.0_f64, f64::min);
        let y = ((lowest / 10.0).floor() * 10.0 - 5.0).max(0.0)..101.0;
        let body = titled(root, TITLE)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .margin_top(24)
            .margin_right(30)
            .x_label_area_size(55)
            .y_label_area_size(75)
            .build_cartesian_2d(x.clone(), y.clone())?;
        chart
            .configure_mesh()
            .light_line_style(LIGHT_GREY.mix(0.5))
            .bold_line_style(LIGHT_GREY)
            .x_desc("optimizer step")
            .y_desc("accuracy (%)")
            .label_style(font(15.0))
            .axis_desc_style(font(18.0))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}%"))
            .draw()?;
        draw_boundaries(root, &mut chart, &s.boundaries, y.clone())?;
        if !val.is_empty() {
            chart
                .draw_series(LineSeries::new(thin(&val, 4000), BLUE.stroke_width(2)))?
                .label("validation")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], BLUE.stroke_width(3)));
            chart.draw_series(
                markers(&val, 150)
                    .iter()
                    .map(|&p| Circle::new(p, 3, BLUE.filled())),
            )?;
        }
        if !test.is_empty() {
            chart
                .draw_series(LineSeries::new(thin(&test, 4000), ORANGE.stroke_width(3)))?
                .label("test")
                .legend(|(x, y)| {
                    EmptyElement::at((x + 12, y))
                        + PathElement::new([(-12, 0), (12, 0)], ORANGE.stroke_width(3))
                        + Circle::new((0, 0), 5, ORANGE.filled())
                });
            chart.draw_series(
                markers(&test, 150)
                    .iter()
                    .map(|&p| Circle::new(p, 5, ORANGE.filled())),
            )?;
        }
        if !pseudo.is_empty() {
            chart
                .draw_series(DashedLineSeries::new(
                    pseudo.clone(),
                    8,
                    5,
                    GREEN.stroke_width(2),
                ))?
                .label("accepted pseudo-labels (vs hidden truth), per round")
                .legend(|(x, y)| {
                    EmptyElement::at((x + 12, y))
                        + PathElement::new([(-12, 0), (12, 0)], GREEN.stroke_width(2))
                        + TriangleMarker::new((0, 0), 7, GREEN.filled())
                });
            chart.draw_series(
                pseudo
                    .iter()
                    .map(|&p| TriangleMarker::new(p, 7, GREEN.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(GREY)
            .label_font(font(15.0))
            .draw()?;
        Ok(())
    })
}

/// `acceptance.png`: per round, the pool (outline), the accepted pseudo-labels (kept from the
/// previous round and newly accepted, stacked) with their share of the pool, and τ on the right
/// axis.
pub fn acceptance_chart(rows: &[AcceptanceRow]) -> anyhow::Result<Vec<u8>> {
    const TITLE: &str = "Pseudo-labels accepted per round";
    render(CHART_SIZE, |root| {
        if rows.is_empty() {
            return placeholder(root, TITLE, "no self-training round yet");
        }
        let first = rows.first().map_or(1, |r| r.round) as f64;
        let last = rows.last().map_or(1, |r| r.round) as f64;
        let x = first - 0.6..last + 0.6;
        let top = rows
            .iter()
            .map(|r| r.pool_size.max(r.accepted))
            .max()
            .unwrap_or(1)
            .max(1) as f64
            * 1.4;
        let body = titled(root, TITLE)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(85)
            .right_y_label_area_size(85)
            .build_cartesian_2d(x.clone(), 0.0..top)?
            .set_secondary_coord(x.clone(), 0.0..1.4);
        let few = rows.len() <= 30;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(LIGHT_GREY.mix(0.5))
            .bold_line_style(LIGHT_GREY)
            .x_desc("self-training round")
            .y_desc("samples of the unlabelled pool")
            .label_style(font(15.0))
            .axis_desc_style(font(18.0))
            .x_labels(rows.len().min(30) + 2)
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-6 && *v >= 0.0 {
                    format!("{v:.0}")
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc("threshold τ")
            .label_style(font(15.0))
            .axis_desc_style(font(18.0))
            .y_label_formatter(&|v| {
                if *v <= 1.0 + 1e-9 {
                    format!("{v:.2}")
                } else {
                    String::new()
                }
            })
            .draw()?;
        let half = 0.36;
        // The pool, as an outline.
        chart
            .draw_series(rows.iter().map(|r| {
                let rx = r.round as f64;
                Rectangle::new(
                    [(rx - half, 0.0), (rx + half, r.pool_size as f64)],
                    GREY.stroke_width(1),
                )
            }))?
            .label("pool size")
            .legend(|(x, y)| Rectangle::new([(x, y - 7), (x + 20, y + 7)], GREY.stroke_width(1)));
        // Kept from the previous round, then newly accepted on top.
        chart
            .draw_series(rows.iter().map(|r| {
                let rx = r.round as f64;
                let kept = r.accepted.saturating_sub(r.newly_accepted) as f64;
                Rectangle::new([(rx - half, 0.0), (rx + half, kept)], BLUE.filled())
            }))?
            .label("accepted, also accepted the round before")
            .legend(|(x, y)| Rectangle::new([(x, y - 7), (x + 20, y + 7)], BLUE.filled()));
        chart
            .draw_series(rows.iter().map(|r| {
                let rx = r.round as f64;
                let kept = r.accepted.saturating_sub(r.newly_accepted) as f64;
                Rectangle::new(
                    [(rx - half, kept), (rx + half, r.accepted as f64)],
                    ORANGE.filled(),
                )
            }))?
            .label("accepted, newly")
            .legend(|(x, y)| Rectangle::new([(x, y - 7), (x + 20, y + 7)], ORANGE.filled()));
        // Count and share above each bar (when the bars are wide enough).
        if few {
            let size = if rows.len() <= 12 { 15.0 } else { 11.0 };
            chart.draw_series(rows.iter().map(|r| {
                let label = if rows.len() <= 12 {
                    format!("{} ({:.1}%)", r.accepted, r.share() * 100.0)
                } else {
                    format!("{:.0}%", r.share() * 100.0)
                };
                Text::new(
                    label,
                    (r.round as f64, r.pool_size.max(r.accepted) as f64),
                    font(size).pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
            }))?;
        }
        let tau: Vec<Point> = rows
            .iter()
            .map(|r| (r.round as f64, r.threshold as f64))
            .collect();
        chart
            .draw_secondary_series(LineSeries::new(tau.clone(), PURPLE.stroke_width(3)))?
            .label("threshold τ (right axis)")
            .legend(|(x, y)| {
                EmptyElement::at((x + 12, y))
                    + PathElement::new([(-12, 0), (12, 0)], PURPLE.stroke_width(3))
                    + Circle::new((0, 0), 5, PURPLE.filled())
            });
        chart.draw_secondary_series(tau.iter().map(|&p| Circle::new(p, 5, PURPLE.filled())))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(GREY)
            .label_font(font(15.0))
            .draw()?;
        Ok(())
    })
}

/// The heat map colour of a row share in `[0, 1]`: white to dark blue, on a square-root scale
/// so that small confusions stand out from empty cells.
pub fn heat_colour(share: f64) -> RGBColor {
    let t = if share.is_finite() {
        share.clamp(0.0, 1.0).sqrt()
    } else {
        0.0
    };
    let (a, b) = ((247.0, 251.0, 255.0), (8.0, 48.0, 107.0));
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Cuts a label to `max` characters, ending with `…` when cut.
fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// `confusion.png`: the chosen confusion matrix as a heat map, coloured by row share (recall),
/// with counts in the cells and class names on the axes.
pub fn confusion_chart(
    choice: Option<&ConfusionChoice>,
    classes: &[String],
) -> anyhow::Result<Vec<u8>> {
    const TITLE: &str = "Confusion matrix";
    render(CONFUSION_SIZE, |root| {
        let Some(choice) = choice else {
            return placeholder(root, TITLE, "no evaluation recorded yet");
        };
        let m = &choice.report.confusion;
        let n = m.num_classes();
        if n == 0 {
            return placeholder(root, TITLE, "the evaluation has no class");
        }
        let (w, h) = root.dim_in_pixel();
        let (w, h) = (w as i32, h as i32);
        let title = format!(
            "{TITLE}: {} (accuracy {:.1}%)",
            choice.describe(),
            choice.report.accuracy * 100.0
        );
        let title_style = if title.chars().count() > 60 {
            (FAMILY, 20.0, FontStyle::Bold).into_font().into()
        } else {
            title_font()
        };
        root.draw(&Text::new(
            title,
            (w / 2, 28),
            title_style.pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;

        let label_size = if n <= 12 {
            15.0
        } else if n <= 25 {
            12.0
        } else {
            10.0
        };
        let labels: Vec<String> = (0..n)
            .map(|i| short(classes.get(i).map_or("", String::as_str), 16))
            .map(|l| if l.is_empty() { "?".into() } else { l })
            .collect();
        let label_font = font(label_size);
        let widest = labels
            .iter()
            .map(|l| {
                root.estimate_text_size(l, &label_font)
                    .map_or(0, |s| s.0 as i32)
            })
            .max()
            .unwrap_or(0);
        let (top, right) = (60, 110);
        let left = widest + 60;
        let avail_w = w - left - right;
        // Column labels go horizontal when they fit their cells, else vertical.
        let cell_guess = avail_w / n as i32;
        let vertical = widest + 6 > cell_guess;
        let bottom = if vertical { widest + 60 } else { 70 };
        let cell = (avail_w / n as i32)
            .min((h - top - bottom) / n as i32)
            .max(1);
        let grid = cell * n as i32;
        let x0 = left + (avail_w - grid) / 2;
        let y0 = top;

        let normalized = m.row_normalized();
        let count_size = (cell as f64 * 0.32).min(18.0);
        for (r, row) in m.counts.iter().enumerate() {
            for (c, &count) in row.iter().enumerate() {
                let share = normalized[r][c];
                let (cx, cy) = (x0 + c as i32 * cell, y0 + r as i32 * cell);
                root.draw(&Rectangle::new(
                    [(cx, cy), (cx + cell, cy + cell)],
                    heat_colour(share).filled(),
                ))?;
                if cell >= 16 {
                    let colour = if share > 0.3 { WHITE } else { BLACK };
                    root.draw(&Text::new(
                        count.to_string(),
                        (cx + cell / 2, cy + cell / 2),
                        font(count_size)
                            .color(&colour)
                            .pos(Pos::new(HPos::Center, VPos::Center)),
                    ))?;
                }
            }
        }
        // Grid lines and frame.
        for i in 0..=n as i32 {
            let style = LIGHT_GREY.stroke_width(1);
            root.draw(&PathElement::new(
                [(x0, y0 + i * cell), (x0 + grid, y0 + i * cell)],
                style,
            ))?;
            root.draw(&PathElement::new(
                [(x0 + i * cell, y0), (x0 + i * cell, y0 + grid)],
                style,
            ))?;
        }
        root.draw(&Rectangle::new(
            [(x0, y0), (x0 + grid, y0 + grid)],
            GREY.stroke_width(1),
        ))?;
        // Class names: rows on the left, columns below.
        for (i, label) in labels.iter().enumerate() {
            let mid = i as i32 * cell + cell / 2;
            root.draw(&Text::new(
                label.clone(),
                (x0 - 8, y0 + mid),
                label_font.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            if vertical {
                // Rotated a quarter turn: reads bottom to top, ending at the grid.
                root.draw(&Text::new(
                    label.clone(),
                    (x0 + mid, y0 + grid + 8),
                    label_font
                        .transform(FontTransform::Rotate270)
                        .pos(Pos::new(HPos::Right, VPos::Center)),
                ))?;
            } else {
                root.draw(&Text::new(
                    label.clone(),
                    (x0 + mid, y0 + grid + 8),
                    label_font.pos(Pos::new(HPos::Center, VPos::Top)),
                ))?;
            }
        }
        let axis = font(18.0);
        let below = if vertical { widest + 24 } else { 40 };
        root.draw(&Text::new(
            "predicted class",
            (x0 + grid / 2, y0 + grid + below),
            axis.pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        root.draw(&Text::new(
            "true class",
            (x0 - widest - 40, y0 + grid / 2),
            axis.transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        // Colour bar: share of the true class's samples (square-root scale, like the cells).
        let (bx, bw) = (x0 + grid + 30, 18);
        let steps = 100;
        for s in 0..steps {
            let t = (1.0 - s as f64 / steps as f64).powi(2);
            let ya = y0 + grid * s / steps;
            let yb = y0 + grid * (s + 1) / steps;
            root.draw(&Rectangle::new(
                [(bx, ya), (bx + bw, yb.max(ya + 1))],
                heat_colour(t).filled(),
            ))?;
        }
        root.draw(&Rectangle::new(
            [(bx, y0), (bx + bw, y0 + grid)],
            GREY.stroke_width(1),
        ))?;
        for tick in [0.0, 0.01, 0.05, 0.25, 0.5, 1.0] {
            let ty = y0 + grid - (grid as f64 * f64::sqrt(tick)) as i32;
            root.draw(&Text::new(
                format!("{:.0}%", tick * 100.0),
                (bx + bw + 6, ty),
                font(13.0).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        root.draw(&Text::new(
            "share of the true class (row), square-root scale",
            (bx + bw + 52, y0 + grid / 2),
            font(14.0)
                .transform(FontTransform::Rotate90)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
