//! `acceptance.png`: pseudo-labels accepted per round, with the threshold τ.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::ranges::drawable;
use super::{
    BLUE, CHART_SIZE, GREY, LIGHT_GREY, ORANGE, PURPLE, font, placeholder, render, titled,
};
use crate::report::{AcceptanceRow, Point};

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
        let tau = drawable(&tau, &(0.0..1.4));
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
