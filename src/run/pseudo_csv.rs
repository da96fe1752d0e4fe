//! `pseudo_labels_round_N.csv`: one row per pool sample with its prediction, its status and, since
//! policies give weights and reasons, the weight of its pseudo-label and why it was rejected.
//! New columns only ever go after the existing ones; the reader finds columns by name, so files
//! written before a column existed still read.

use std::path::Path;

use anyhow::Context;

use crate::run::csv_field;
use crate::train::pseudo::RejectReason;

/// The columns, in order.
pub const COLUMNS: [&str; 12] = [
    "index",
    "file",
    "predicted",
    "confidence",
    "runner_up",
    "runner_up_confidence",
    "truth",
    "status",
    "weight",
    "reason",
    "uncertainty",
    "outlier",
];

/// What happened to a sample in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PseudoStatus {
    /// Pseudo-labelled by the policy.
    Accepted,
    /// Not pseudo-labelled.
    Rejected,
    /// Pseudo-labelled because the user accepted it.
    Forced,
    /// Labelled by hand (trains as a labelled sample).
    ManualLabel,
    /// Excluded by hand.
    Excluded,
}

impl PseudoStatus {
    /// The name in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Forced => "forced",
            Self::ManualLabel => "manual_label",
            Self::Excluded => "excluded",
        }
    }

    /// Parses [`PseudoStatus::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Accepted,
            Self::Rejected,
            Self::Forced,
            Self::ManualLabel,
            Self::Excluded,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether the sample is a pseudo-label this round.
    pub fn is_pseudo_label(self) -> bool {
        matches!(self, Self::Accepted | Self::Forced)
    }
}

/// One row of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct PseudoCsvRow {
    /// Index in the unlabelled pool.
    pub index: usize,
    /// The image file.
    pub file: String,
    /// Predicted class name.
    pub predicted: String,
    /// Its probability.
    pub confidence: f32,
    /// Runner-up class name and probability.
    pub runner_up: Option<(String, f32)>,
    /// Hidden truth's class name, when known.
    pub truth: Option<String>,
    /// What happened to it.
    pub status: PseudoStatus,
    /// Loss weight of its pseudo-label (0 when rejected).
    pub weight: f32,
    /// Why it was rejected (`None` when accepted, or in files that predate the column).
    pub reason: Option<RejectReason>,
    /// MC-dropout standard deviation of its predicted class's probability, when computed.
    pub uncertainty: Option<f32>,
    /// Its outlier score, when computed (the outlier filter is on).
    pub outlier: Option<f32>,
}

/// The whole file for `rows`.
pub fn to_csv(rows: &[PseudoCsvRow]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for r in rows {
        let (runner, runner_conf) = r
            .runner_up
            .as_ref()
            .map_or((String::new(), String::new()), |(c, v)| {
                (csv_field(c), format!("{v:.6}"))
            });
        out.push_str(&format!(
            "{},{},{},{:.6},{},{},{},{},{},{},{},{}\n",
            r.index,
            csv_field(&r.file),
            csv_field(&r.predicted),
            r.confidence,
            runner,
            runner_conf,
            r.truth.as_deref().map(csv_field).unwrap_or_default(),
            r.status.as_str(),
            r.weight,
            r.reason.map_or("", RejectReason::as_str),
            optional(r.uncertainty),
            optional(r.outlier),
        ));
    }
    out
}

/// A number with six decimals, or nothing.
fn optional(value: Option<f32>) -> String {
    value.map(|v| format!("{v:.6}")).unwrap_or_default()
}

/// Splits one CSV line into fields (RFC 4180 quoting).
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

/// Parses a whole file; errors give the line and the column.
pub fn parse(text: &str) -> Result<Vec<PseudoCsvRow>, String> {
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, h)| fields(h))
        .ok_or("empty file: no header")?;
    let column = |name: &str| header.iter().position(|h| h == name);
    let required = |name: &str| column(name).ok_or(format!("header: column `{name}` missing"));
    let index = required("index")?;
    let file = required("file")?;
    let predicted = required("predicted")?;
    let confidence = required("confidence")?;
    let runner_up = required("runner_up")?;
    let runner_conf = required("runner_up_confidence")?;
    let truth = required("truth")?;
    let status = required("status")?;
    let (weight, reason) = (column("weight"), column("reason"));
    let (uncertainty, outlier) = (column("uncertainty"), column("outlier"));
    let mut rows = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let line_no = n + 1;
        let f = fields(line);
        let get = |i: usize, name: &str| {
            f.get(i)
                .map(String::as_str)
                .ok_or(format!("line {line_no}: column `{name}` missing"))
        };
        let number = |i: usize, name: &str| -> Result<f32, String> {
            let v = get(i, name)?;
            v.parse()
                .map_err(|_| format!("line {line_no}: {name} `{v}` is not a number"))
        };
        let status_text = get(status, "status")?;
        let status = PseudoStatus::parse(status_text)
            .ok_or(format!("line {line_no}: unknown status `{status_text}`"))?;
        let runner = get(runner_up, "runner_up")?;
        let truth = get(truth, "truth")?;
        let weight = match weight {
            Some(i) => number(i, "weight")?,
            // Files that predate weights: every pseudo-label weighed 1.
            None => f32::from(u8::from(status.is_pseudo_label())),
        };
        let reason = match reason.map(|i| get(i, "reason")).transpose()? {
            None | Some("") => None,
            Some(text) => Some(
                RejectReason::parse(text)
                    .ok_or(format!("line {line_no}: unknown reason `{text}`"))?,
            ),
        };
        // Empty (not computed that round) or absent (a file that predates the column): None.
        let optional = |column: Option<usize>, name: &str| -> Result<Option<f32>, String> {
            let Some(i) = column else { return Ok(None) };
            if get(i, name)?.is_empty() {
                Ok(None)
            } else {
                number(i, name).map(Some)
            }
        };
        let uncertainty = optional(uncertainty, "uncertainty")?;
        let outlier = optional(outlier, "outlier")?;
        let index_text = get(index, "index")?;
        rows.push(PseudoCsvRow {
            index: index_text
                .parse()
                .map_err(|_| format!("line {line_no}: index `{index_text}` is not a number"))?,
            file: get(file, "file")?.to_string(),
            predicted: get(predicted, "predicted")?.to_string(),
            confidence: number(confidence, "confidence")?,
            runner_up: if runner.is_empty() {
                None
            } else {
                Some((
                    runner.to_string(),
                    number(runner_conf, "runner_up_confidence")?,
                ))
            },
            truth: (!truth.is_empty()).then(|| truth.to_string()),
            status,
            weight,
            reason,
            uncertainty,
            outlier,
        });
    }
    Ok(rows)
}

/// Reads a file; errors name it.
pub fn read(path: &Path) -> anyhow::Result<Vec<PseudoCsvRow>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(index: usize, status: PseudoStatus, reason: Option<RejectReason>) -> PseudoCsvRow {
        PseudoCsvRow {
            index,
            file: format!("unlabeled/a,b/{index}.png"),
            predicted: "1-trouser".into(),
            confidence: 0.288206,
            runner_up: Some(("6-shirt".into(), 0.135157)),
            truth: index.is_multiple_of(2).then(|| "0-tshirt-top".into()),
            status,
            weight: f32::from(u8::from(status.is_pseudo_label())),
            reason,
            uncertainty: None,
            outlier: None,
        }
    }

    #[test]
    fn rows_round_trip_with_the_recorded_layout() {
        let rows = vec![
            row(
                0,
                PseudoStatus::Rejected,
                Some(RejectReason::BelowThreshold),
            ),
            row(1, PseudoStatus::Accepted, None),
            row(2, PseudoStatus::Excluded, Some(RejectReason::Excluded)),
        ];
        let text = to_csv(&rows);
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "index,file,predicted,confidence,runner_up,runner_up_confidence,truth,status,weight,reason,uncertainty,outlier"
        );
        assert_eq!(
            lines.next().unwrap(),
            "0,\"unlabeled/a,b/0.png\",1-trouser,0.288206,6-shirt,0.135157,0-tshirt-top,rejected,0,below_threshold,,"
        );
        assert_eq!(parse(&text).unwrap(), rows);
    }

    #[test]
    fn signals_round_trip_and_stay_empty_when_not_computed() {
        let mut rows = vec![
            row(0, PseudoStatus::Rejected, Some(RejectReason::Uncertain)),
            row(1, PseudoStatus::Rejected, Some(RejectReason::Outlier)),
            row(2, PseudoStatus::Accepted, None),
        ];
        rows[0].uncertainty = Some(0.125);
        rows[1].outlier = Some(0.75);
        rows[2].uncertainty = Some(0.0);
        rows[2].outlier = Some(0.03125);
        let text = to_csv(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].ends_with(",uncertain,0.125000,"), "{}", lines[1]);
        assert!(lines[2].ends_with(",outlier,,0.750000"), "{}", lines[2]);
        assert!(lines[3].ends_with(",,0.000000,0.031250"), "{}", lines[3]);
        assert_eq!(parse(&text).unwrap(), rows);
        let err = parse(&text.replace("0.750000", "far")).unwrap_err();
        assert!(
            err.contains("line 3") && err.contains("outlier `far`"),
            "{err}"
        );
    }

    #[test]
    fn files_without_the_new_columns_still_read() {
        let text = "index,file,predicted,confidence,runner_up,runner_up_confidence,truth,status\n\
                    0,a.png,x,0.900000,,,,accepted\n1,b.png,x,0.100000,y,0.050000,y,rejected\n";
        let rows = parse(text).unwrap();
        assert_eq!(rows[0].weight, 1.0);
        assert_eq!(rows[0].runner_up, None);
        assert_eq!(rows[1].weight, 0.0);
        assert_eq!(rows[1].reason, None);
        assert_eq!(rows[1].truth.as_deref(), Some("y"));
        assert_eq!((rows[1].uncertainty, rows[1].outlier), (None, None));
        // And files with weights and reasons but without the signals.
        let text = "index,file,predicted,confidence,runner_up,runner_up_confidence,truth,status,weight,reason\n\
                    0,a.png,x,0.100000,,,,rejected,0,below_threshold\n";
        let rows = parse(text).unwrap();
        assert_eq!(rows[0].reason, Some(RejectReason::BelowThreshold));
        assert_eq!((rows[0].uncertainty, rows[0].outlier), (None, None));
    }

    #[test]
    fn bad_rows_name_the_line_and_the_problem() {
        let head = "index,file,predicted,confidence,runner_up,runner_up_confidence,truth,status\n";
        let err = parse(&format!("{head}0,a.png,x,high,,,,accepted\n")).unwrap_err();
        assert!(
            err.contains("line 2") && err.contains("confidence"),
            "{err}"
        );
        let err = parse(&format!("{head}0,a.png,x,0.5,,,,maybe\n")).unwrap_err();
        assert!(err.contains("unknown status `maybe`"), "{err}");
        let err = parse("index,file\n").unwrap_err();
        assert!(err.contains("predicted"), "{err}");
        let path = std::env::temp_dir().join(format!("selftrain-pcsv-{}.csv", std::process::id()));
        std::fs::write(&path, "index\n").unwrap();
        let err = format!("{:#}", read(&path).unwrap_err());
        assert!(err.contains(&path.display().to_string()), "{err}");
        std::fs::remove_file(path).unwrap();
    }
}
