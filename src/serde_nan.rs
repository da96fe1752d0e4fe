//! NaN-tolerant float fields for recorded types. serde_json writes a non-finite float (a NaN
//! loss after a divergent step, say) as `null` and refuses `null` for a plain `f32`/`f64` when
//! reading it back; fields marked `#[serde(deserialize_with = "crate::serde_nan::f64_or_nan")]`
//! read it as NaN instead. A leaf module, so the types of every layer can use it.

use serde::{Deserialize, Deserializer};

/// Reads an `f64` that may be `null` (how serde_json writes NaN and infinities) as NaN.
pub fn f64_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Reads an `f32` that may be `null` (how serde_json writes NaN and infinities) as NaN.
pub fn f32_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    Ok(Option::<f32>::deserialize(d)?.unwrap_or(f32::NAN))
}
