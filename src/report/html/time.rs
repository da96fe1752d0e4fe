//! The "Where the time goes" section of `index.html`, from the run's time breakdown.

use std::fmt::Write;

use super::duration;
use crate::train::timing::TimeBreakdown;

/// Each phase's seconds and share of the wall time, then the training steps' parts and the
/// share of the run spent outside the backend's kernels.
pub fn time_table(h: &mut String, t: &TimeBreakdown, wall_secs: f64) {
    let wall = wall_secs.max(1e-9);
    h.push_str(
        "<h2>Where the time goes</h2>\n<table>\n<tr><th>phase</th><th>time</th>\
         <th>share of the wall time</th></tr>\n",
    );
    let timed: f64 = t.phases().iter().map(|(_, s)| s).sum();
    let untimed = (
        "other (start-up, progress, controls)",
        (wall - timed).max(0.0),
    );
    for (name, secs) in t.phases().into_iter().chain([untimed]) {
        let _ = writeln!(
            h,
            "<tr><td>{name}</td><td>{}</td><td>{:.1}%</td></tr>",
            duration(secs),
            100.0 * secs / wall
        );
    }
    h.push_str("</table>\n");
    let steps: f64 = t.step_parts().iter().map(|(_, s)| s).sum();
    let _ = writeln!(
        h,
        "<table>\n<tr><th>inside the {} training steps</th><th>time</th><th>share of the \
         steps</th><th>per step</th></tr>",
        t.steps
    );
    for (name, secs) in t.step_parts() {
        let _ = writeln!(
            h,
            "<tr><td>{name}</td><td>{}</td><td>{:.1}%</td><td>{:.1} ms</td></tr>",
            duration(secs),
            100.0 * secs / steps.max(1e-9),
            1e3 * secs / t.steps.max(1) as f64
        );
    }
    h.push_str("</table>\n");
    if let Some(own) = t.own_share(wall_secs) {
        let _ = writeln!(
            h,
            "<p class=\"muted\">{:.1}% of the wall time is spent outside the backend's forward, \
             backward and optimizer kernels (batch assembly, loss read-backs, the policy, files \
             and everything untimed).</p>",
            100.0 * own
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::timing::{Spent, StepTimes};

    #[test]
    fn the_table_lists_phases_parts_and_the_untimed_rest() {
        let mut t = TimeBreakdown::default();
        t.add(Spent::RoundTraining, 6.0);
        t.add(Spent::Evaluation, 2.0);
        t.add_step(StepTimes {
            batch: 1.0,
            forward_backward: 4.0,
            optimizer: 1.0,
            readback: 0.0,
        });
        let mut h = String::new();
        time_table(&mut h, &t, 10.0);
        assert!(
            h.contains("<td>round training</td><td>6.0 s</td><td>60.0%</td>"),
            "{h}"
        );
        assert!(
            h.contains("<td>other (start-up, progress, controls)</td><td>2.0 s</td>"),
            "{h}"
        );
        assert!(h.contains("inside the 1 training steps"), "{h}");
        assert!(
            h.contains("<td>forward + backward</td><td>4.0 s</td><td>66.7%</td>"),
            "{h}"
        );
        assert!(h.contains("30.0% of the wall time is spent outside"), "{h}");
    }
}
