//! Append-only JSONL event trails, flushed line by line so a crash loses at
//! most the line being written (a torn last line is ignored on reading).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::input::StoreError;

pub struct EventLog {
    path: PathBuf,
    file: File,
}

impl EventLog {
    /// Opens (creating if needed) a trail for appending.
    pub fn open(path: &Path) -> Result<EventLog, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| StoreError::io(path, e))?;
        Ok(EventLog {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn append<T: Serialize>(&mut self, event: &T) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(event).unwrap_or_default();
        line.push(b'\n');
        crate::fault::point("event trail line");
        self.file
            .write_all(&line)
            .and_then(|_| self.file.flush())
            .map_err(|e| StoreError::io(&self.path, e))
    }

    /// Reads every complete line of a trail; a torn final line is skipped.
    pub fn read_all<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, StoreError> {
        let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
        let mut out = Vec::new();
        let lines: Vec<String> = BufReader::new(file)
            .lines()
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError::io(path, e))?;
        let n = lines.len();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(line) {
                Ok(v) => out.push(v),
                Err(_) if i + 1 == n => break,
                Err(e) => {
                    return Err(StoreError::Invalid {
                        path: path.to_path_buf(),
                        message: format!("line {}: {e}", i + 1),
                    })
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_and_skips_a_torn_last_line() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("e.jsonl");
        let mut log = EventLog::open(&p).unwrap();
        log.append(&serde_json::json!({"n": 1})).unwrap();
        log.append(&serde_json::json!({"n": 2})).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"n\":")
            .unwrap();
        let v: Vec<serde_json::Value> = EventLog::read_all(&p).unwrap();
        assert_eq!(v.len(), 2);
    }
}
