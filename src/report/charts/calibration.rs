//! `calibration.png`: a reliability diagram (accuracy per confidence bin against the diagonal).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    BLUE, CALIBRATION_SIZE, GREY, LIGHT_GREY, VERMILION, font, placeholder, render, titled,
};
use crate::metrics::{CALIBRATION_BINS, Calibration};

/// `calibration.png`: for each occupied confidence bin, the accuracy of its predictions (blue
/// bar) and the gap to their mean confidence (orange box), with the diagonal a perfectly calibrated
/// model would follow; `model` says which evaluation it is and `ece` its calibration error.
pub fn calibration_chart(
    calibration: Option<&Calibration>,
    ece: Option<f64>,
    model: &str,
) -> anyhow::Result<Vec<u8>> {
    const TITLE: &str = "Reliability diagram";
    render(CALIBRATION_SIZE, |root| {
        let Some(calibration) = calibration.filter(|c| c.count() > 0) else {
            return placeholder(root, TITLE, "no evaluation with confidences recorded yet");
        };
        let body = titled(root, TITLE)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(25)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .light_line_style(LIGHT_GREY.mix(0.5))
            .bold_line_style(LIGHT_GREY)
            .x_desc("confidence (probability of the predicted class)")
            .y_desc("accuracy")
            .label_style(font(15.0))
            .axis_desc_style(font(18.0))
            .x_labels(11)
            .y_labels(11)
            .x_label_formatter(&|v| format!("{v:.1}"))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .draw()?;
        let width = 1.0 / CALIBRATION_BINS as f64;
        let occupied: Vec<(f64, f64, f64, u64)> = calibration
            .bins
            .iter()
            .enumerate()
            .filter(|(_, b)| b.count > 0 && b.accuracy.is_finite() && b.confidence.is_finite())
            .map(|(i, b)| {
                let lo = i as f64 * width;
                let clamp = |v: f64| v.clamp(0.0, 1.0);
                (lo, clamp(b.accuracy), clamp(b.confidence), b.count)
            })
            .collect();
        let pad = width * 0.06;
        chart
            .draw_series(occupied.iter().map(|&(lo, acc, _, _)| {
                Rectangle::new([(lo + pad, 0.0), (lo + width - pad, acc)], BLUE.filled())
            }))?
            .label("accuracy of the bin's predictions")
            .legend(|(x, y)| Rectangle::new([(x, y - 7), (x + 20, y + 7)], BLUE.filled()));
        chart
            .draw_series(occupied.iter().map(|&(lo, acc, conf, _)| {
                Rectangle::new(
                    [(lo + pad, acc), (lo + width - pad, conf)],
                    VERMILION.stroke_width(2),
                )
            }))?
            .label("gap to the bin's mean confidence")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 7), (x + 20, y + 7)], VERMILION.stroke_width(2))
            });
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                8,
                5,
                GREY.stroke_width(2),
            ))?
            .label("perfect calibration")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GREY.stroke_width(2)));
        chart.draw_series(occupied.iter().map(|&(lo, acc, conf, count)| {
            Text::new(
                format!("{count}"),
                (lo + width / 2.0, acc.max(conf)),
                font(12.0)
                    .color(&GREY)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            )
        }))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(GREY)
            .label_font(font(15.0))
            .draw()?;
        let ece = match ece {
            Some(e) if e.is_finite() => format!("ECE {e:.3}"),
            _ => "ECE –".to_string(),
        };
        // Under the legend, where a reliability diagram has no bars (high accuracy at low
        // confidence is rare).
        chart.draw_series([Text::new(
            format!("{model}: {ece} over {} predictions", calibration.count()),
            (0.015, 0.86),
            font(17.0).pos(Pos::new(HPos::Left, VPos::Top)),
        )])?;
        Ok(())
    })
}
