//! One writer per run directory. `train` (new runs and `--resume`) holds an exclusive lock on
//! `run.lock` inside the run directory for as long as it runs; a second writer is refused with
//! the holder's process id. `view` and `report` only read and take no lock.
//!
//! The lock is an advisory `flock` on an open file: the operating system drops it when the
//! holder exits for any reason, `kill -9` included, so a `run.lock` file left behind never blocks
//! a later `--resume`. The file itself stays (removing it could let two processes lock two
//! different files of the same name).

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside a run directory.
pub const LOCK_FILE: &str = "run.lock";

/// Why a run directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds the lock.
    #[error(
        "run directory {} is in use by {} (selftrain train); wait for it or stop it",
        .dir.display(),
        holder(.pid)
    )]
    InUse {
        /// The run directory.
        dir: PathBuf,
        /// The holder's process id, when it could be read from the lock file.
        pid: Option<u32>,
    },
    /// The lock file could not be opened, locked or written.
    #[error("cannot lock {}: {source}", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

fn holder(pid: &Option<u32>) -> String {
    match pid {
        Some(pid) => format!("process {pid}"),
        None => "another process".to_string(),
    }
}

/// The exclusive lock on a run directory, held until dropped (or until the process ends).
#[derive(Debug)]
pub struct RunLock {
    /// Keeps the lock: closing the file releases it.
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Locks `dir` for this process, writing its pid into `dir/run.lock`; fails at once (without
    /// waiting) when another process holds the lock.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if !try_lock_exclusive(&file).map_err(io)? {
            return Err(LockError::InUse {
                dir: dir.to_path_buf(),
                pid: read_pid(&mut file),
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Self { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The pid written by the holder (None while it has not written it yet, or when unreadable).
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// `flock(LOCK_EX | LOCK_NB)`: true when this call took the lock, false when another open file
/// holds it.
#[cfg(unix)]
fn try_lock_exclusive(file: &File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock on a descriptor owned by `file`, which outlives the call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(err),
        }
    }
}

/// Without `flock` the run directory is not locked.
#[cfg(not(unix))]
fn try_lock_exclusive(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("selftrain-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_until_the_first_is_dropped() {
        let dir = temp("twice");
        let first = RunLock::acquire(&dir).unwrap();
        assert_eq!(
            std::fs::read_to_string(first.path()).unwrap(),
            format!("{}\n", std::process::id())
        );
        // flock locks belong to the open file, so a second open in the same process conflicts
        // just as another process would.
        let err = RunLock::acquire(&dir).unwrap_err();
        assert!(
            matches!(&err, LockError::InUse { pid: Some(p), .. } if *p == std::process::id()),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&dir.display().to_string())
                && text.contains(&format!("in use by process {}", std::process::id()))
                && text.contains("wait for it or stop it"),
            "{text}"
        );
        drop(first);
        let again = RunLock::acquire(&dir).unwrap();
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lock_file_left_behind_does_not_block() {
        let dir = temp("stale");
        std::fs::write(dir.join(LOCK_FILE), "999999999\nleft by a killed process\n").unwrap();
        let lock = RunLock::acquire(&dir).unwrap();
        assert_eq!(
            std::fs::read_to_string(lock.path()).unwrap(),
            format!("{}\n", std::process::id()),
            "the old content is replaced"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unreadable_pid_still_gives_a_clear_message() {
        let err = LockError::InUse {
            dir: PathBuf::from("runs/x"),
            pid: None,
        };
        assert_eq!(
            err.to_string(),
            "run directory runs/x is in use by another process (selftrain train); wait for it or stop it"
        );
    }

    #[test]
    fn a_missing_directory_names_the_lock_file() {
        let dir = temp("missing").join("no-such-run");
        let err = RunLock::acquire(&dir).unwrap_err().to_string();
        assert!(
            err.contains("run.lock") && err.contains("no-such-run"),
            "{err}"
        );
    }
}
