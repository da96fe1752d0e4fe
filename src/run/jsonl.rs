//! Append-only JSON-lines files.

use std::io::{BufRead, Write};
use std::path::Path;

/// Appends one JSON object per line, flushing each line to the OS.
#[derive(Debug)]
pub struct JsonlWriter {
    file: std::fs::File,
}

impl JsonlWriter {
    /// Opens (creating or appending to) a JSON-lines file.
    pub fn append(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self { file })
    }

    /// Writes one value as a line (a single `write` call, so lines do not interleave).
    pub fn write<T: serde::Serialize>(&mut self, value: &T) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }

    /// Syncs the file to disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Current length of the file in bytes (everything written so far).
    pub fn len(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> std::io::Result<bool> {
        Ok(self.len()? == 0)
    }
}

/// Cuts a JSON-lines file back to `len` bytes (what it held at a checkpoint), so a resumed run
/// continues it as if it had never been interrupted. A shorter file is left as it is.
pub fn truncate_to(path: &Path, len: u64) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    if file.metadata()?.len() > len {
        file.set_len(len)?;
        file.sync_all()?;
    }
    Ok(())
}

/// Reads every complete line of a JSON-lines file as untyped JSON values. A torn (unparseable)
/// *last* line is ignored, as left by a crash mid-write; a bad line elsewhere is an error naming
/// it. The run's own files are read typed through [`super::reader`].
pub fn read_jsonl(path: &Path) -> Result<Vec<serde_json::Value>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::with_capacity(lines.len());
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(v) => out.push(v),
            Err(_) if i == last => break,
            Err(e) => return Err(format!("{}: line {}: {e}", path.display(), i + 1)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_last_line_is_tolerated_but_not_a_middle_one() {
        let dir = std::env::temp_dir().join(format!("selftrain-jsonl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.jsonl");
        let mut w = JsonlWriter::append(&p).unwrap();
        w.write(&serde_json::json!({"a": 1})).unwrap();
        w.write(&serde_json::json!({"a": 2})).unwrap();
        drop(w);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"a\": 3").unwrap();
        drop(f);
        assert_eq!(read_jsonl(&p).unwrap().len(), 2);
        std::fs::write(&p, "{\"a\":1}\nnot json\n{\"a\":2}\n").unwrap();
        assert!(read_jsonl(&p).unwrap_err().contains("line 2"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
