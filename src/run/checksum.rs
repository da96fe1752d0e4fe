//! Checksums of the files a checkpoint names, recorded in `resume.json` so that a damaged
//! checkpoint is refused on resume instead of silently continuing from corrupt weights.

use std::path::Path;

use crate::data::fingerprint::{FNV_OFFSET, fnv1a};

/// The checksum of a file's bytes: FNV-1a (64-bit) in hex, e.g. `fnv1a64:cbf29ce484222325`.
/// The prefix names the algorithm, so another one can be added without ambiguity.
pub fn checksum(bytes: &[u8]) -> String {
    format!("fnv1a64:{:016x}", fnv1a(FNV_OFFSET, bytes))
}

/// Checks `bytes`, read from `path`, against the checksum `expected` recorded for it; the error
/// names the file.
pub fn verify_checksum(path: &Path, bytes: &[u8], expected: &str) -> anyhow::Result<()> {
    let actual = checksum(bytes);
    if actual != expected {
        anyhow::bail!(
            "{}: checksum mismatch (recorded {expected}, file has {actual}): the checkpoint file \
             is damaged or was changed since it was written",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_stable_and_catch_a_flipped_bit() {
        // FNV-1a 64 of the empty input is its offset basis; of "a", the published value.
        assert_eq!(checksum(b""), "fnv1a64:cbf29ce484222325");
        assert_eq!(checksum(b"a"), "fnv1a64:af63dc4c8601ec8c");
        let bytes = b"model weights".to_vec();
        let recorded = checksum(&bytes);
        let path = Path::new("runs/x/ckpt-000000001.bpk");
        verify_checksum(path, &bytes, &recorded).unwrap();
        let mut flipped = bytes.clone();
        flipped[3] ^= 0x10;
        let err = verify_checksum(path, &flipped, &recorded)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ckpt-000000001.bpk") && err.contains("checksum"),
            "{err}"
        );
    }
}
