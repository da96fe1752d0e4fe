//! `confusion.png`: the confusion matrix as a heat map.

use plotters::prelude::*;
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{CONFUSION_SIZE, FAMILY, GREY, LIGHT_GREY, font, placeholder, render, title_font};
use crate::report::ConfusionChoice;

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
