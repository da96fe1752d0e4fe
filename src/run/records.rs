//! Record types of the run directory that are not streamed updates (`model.json`), and the
//! serde helpers that make every recorded float NaN-tolerant.
//!
//! serde_json writes a non-finite float (a NaN loss after a divergent step, say) as `null`, and
//! refuses `null` for a plain `f32`/`f64` field when reading it back. Float fields of the
//! recorded types carry `#[serde(deserialize_with = "crate::run::records::f64_or_nan")]` (or
//! [`f32_or_nan`]) so such a record reads back as NaN instead of being refused or dropped.
//! Writing is unchanged.

use serde::{Deserialize, Serialize};

pub use crate::serde_nan::{f32_or_nan, f64_or_nan};

use super::version::{FORMAT_VERSION, legacy_format_version};
use crate::data::ImageShape;
use crate::model::ModelConfig;

/// What `predict` (and `cv`) need to rebuild a model from a run directory (`model.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Architecture.
    pub model: ModelConfig,
    /// Class names in label order.
    pub classes: Vec<String>,
    /// Input shape.
    pub shape: ImageShape,
    /// Device it was trained on.
    pub device: String,
    /// Format of the file; absent in files written before it was recorded (version 1).
    #[serde(default = "legacy_format_version")]
    pub format_version: u32,
    /// How images of another size were brought to `shape` (what `predict` must do too).
    #[serde(default = "crate::data::ResizePolicy::legacy")]
    pub resize: crate::data::ResizePolicy,
}

impl ModelInfo {
    /// A description in the format this build writes.
    pub fn new(
        model: ModelConfig,
        classes: Vec<String>,
        shape: ImageShape,
        resize: crate::data::ResizePolicy,
        device: String,
    ) -> Self {
        Self {
            model,
            classes,
            shape,
            device,
            format_version: FORMAT_VERSION,
            resize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Floats {
        #[serde(deserialize_with = "f64_or_nan")]
        a: f64,
        #[serde(deserialize_with = "f32_or_nan")]
        b: f32,
    }

    #[test]
    fn null_reads_as_nan_and_numbers_as_themselves() {
        let f: Floats = serde_json::from_str(r#"{"a": null, "b": null}"#).unwrap();
        assert!(f.a.is_nan() && f.b.is_nan());
        let f: Floats = serde_json::from_str(r#"{"a": 1.5, "b": 2}"#).unwrap();
        assert_eq!((f.a, f.b), (1.5, 2.0));
        // Writing is serde_json's own: NaN becomes null, which reads back as NaN.
        let text = serde_json::to_string(&Floats {
            a: f64::NAN,
            b: f32::INFINITY,
        })
        .unwrap();
        assert_eq!(text, r#"{"a":null,"b":null}"#);
        let f: Floats = serde_json::from_str(&text).unwrap();
        assert!(f.a.is_nan() && f.b.is_nan());
        assert!(serde_json::from_str::<Floats>(r#"{"a": "x", "b": 1}"#).is_err());
    }

    #[test]
    fn model_info_without_a_version_is_version_one() {
        let json = r#"{
            "model": {"kind": "default", "channels": 1, "height": 28, "width": 28,
                      "num_classes": 2, "dropout": 0.3, "filters": 32, "hidden": 128},
            "classes": ["a", "b"],
            "shape": {"channels": 1, "height": 28, "width": 28},
            "device": "flex"
        }"#;
        let info: ModelInfo = serde_json::from_str(json).unwrap();
        assert_eq!(info.format_version, 1);
        assert_eq!(
            info.resize,
            crate::data::ResizePolicy::Stretch,
            "what old runs did"
        );
        let again = ModelInfo::new(
            info.model.clone(),
            info.classes.clone(),
            info.shape,
            info.resize,
            "flex".into(),
        );
        assert_eq!(again, info);
        let written = serde_json::to_value(&again).unwrap();
        assert_eq!(written["format_version"], FORMAT_VERSION);
    }
}
