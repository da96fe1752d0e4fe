//! `loss.png` and `accuracy.png`: curves over optimizer steps with round boundaries.

use plotters::prelude::*;

use super::ranges::{drawable, percent_range, x_range, y_range_from_zero};
use super::{
    BLUE, CHART_SIZE, GREEN, GREY, LIGHT_GREY, ORANGE, VERMILION, draw_boundaries, font, markers,
    placeholder, render, thin, titled,
};
use crate::report::{AccuracySeries, LossSeries, Point};

/// `loss.png`: the optimized loss and its parts over optimizer steps, smoothed, with the raw
/// total faint behind, and round boundaries.
pub fn loss_chart(s: &LossSeries) -> anyhow::Result<Vec<u8>> {
    const TITLE: &str = "Training loss";
    render(CHART_SIZE, |root| {
        if s.total.is_empty() && s.supervised.is_empty() {
            return placeholder(root, TITLE, "no training step recorded yet");
        }
        let window = crate::report::smoothing_window(s.total.len().max(s.supervised.len()));
        let total = crate::report::smooth(&s.total, window);
        let supervised = crate::report::smooth(&s.supervised, window);
        let pseudo =
            crate::report::smooth(&s.pseudo, crate::report::smoothing_window(s.pseudo.len()));
        let x = x_range([&s.total[..], &s.supervised[..], &s.pseudo[..]]);
        // The y range fits the smoothed curves (raw spikes are clipped), from 0.
        let y = y_range_from_zero(total.iter().chain(&supervised).chain(&pseudo).map(|p| p.1));
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
                    drawable(&thin(&s.total, 4000), &y),
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
                .draw_series(LineSeries::new(
                    drawable(&thin(points, 4000), &y),
                    colour.stroke_width(2),
                ))?
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
        let y = percent_range(val.iter().chain(&test).chain(&pseudo).map(|p| p.1));
        let (val, test, pseudo) = (
            drawable(&val, &y),
            drawable(&test, &y),
            drawable(&pseudo, &y),
        );
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
