//! The run-directory format version, recorded as `format_version` in `summary.json`,
//! `resume.json` and `model.json`. Files written before the field existed read as version 1.
//! A reader refuses a newer version by name rather than misreading it.

use std::path::Path;

use anyhow::Context;
use serde::de::DeserializeOwned;

/// The format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// Serde default for files that predate `format_version`.
pub fn legacy_format_version() -> u32 {
    1
}

/// Refuses a file whose format is newer than this build understands.
pub fn check_format_version(file: &Path, found: u32) -> anyhow::Result<()> {
    if found > FORMAT_VERSION {
        anyhow::bail!(
            "{}: format_version {found} is newer than this selftrain reads ({FORMAT_VERSION}); \
             use a newer selftrain",
            file.display()
        );
    }
    Ok(())
}

/// Reads a versioned JSON file: checks `format_version` (absent = 1) before deserialising, so a
/// newer file is refused by version instead of by whichever field changed. Errors name the file.
pub fn read_versioned_json<T: DeserializeOwned>(file: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not valid JSON", file.display()))?;
    let found = match value.get("format_version") {
        None => legacy_format_version(),
        Some(v) => v
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .with_context(|| {
                format!(
                    "{}: format_version must be a whole number, found {v}",
                    file.display()
                )
            })?,
    };
    check_format_version(file, found)?;
    serde_json::from_value(value).with_context(|| format!("{}: unexpected content", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("selftrain-version-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[derive(Debug, serde::Deserialize)]
    struct Doc {
        a: u32,
    }

    #[test]
    fn files_without_a_version_read_as_version_one() {
        let path = temp("legacy.json", r#"{"a": 3}"#);
        assert_eq!(read_versioned_json::<Doc>(&path).unwrap().a, 3);
    }

    #[test]
    fn a_newer_version_is_refused_naming_the_file() {
        let path = temp("newer.json", r#"{"a": 3, "format_version": 99}"#);
        let err = format!("{:#}", read_versioned_json::<Doc>(&path).unwrap_err());
        assert!(err.contains("newer.json"), "{err}");
        assert!(err.contains("format_version 99"), "{err}");
    }

    #[test]
    fn a_malformed_version_is_refused() {
        let path = temp("bad.json", r#"{"a": 3, "format_version": "two"}"#);
        let err = format!("{:#}", read_versioned_json::<Doc>(&path).unwrap_err());
        assert!(
            err.contains("format_version must be a whole number"),
            "{err}"
        );
    }
}
