//! Reading input files with errors that name the file.

use std::path::{Path, PathBuf};

use archon_core::input::{parse_json, InputError, InputErrors};
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // The cause is part of the message and the source (so a caller can tell
    // a full disk from a missing file); `error_text::with_causes` says it once.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Inputs(#[from] InputErrors),
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl StoreError {
    pub fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_path_buf(),
            error: source,
        }
    }
}

/// Largest input file archon reads (64 MiB): the real inputs are a few MB at
/// most, and a mistaken `/dev/zero` or a huge file must not exhaust memory.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a UTF-8 text file. Only regular files are read (a FIFO would block
/// forever, a device never end), and at most [`MAX_INPUT_BYTES`].
pub fn read_text(path: &Path) -> Result<String, StoreError> {
    use std::io::Read;
    let invalid = |message: String| StoreError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let kind = std::fs::metadata(path)
        .map_err(|e| StoreError::io(path, e))?
        .file_type();
    if !kind.is_file() {
        return Err(invalid(format!(
            "not a regular file (a {}); inputs must be regular files",
            describe(kind)
        )));
    }
    let file = std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::io(path, e))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(invalid(format!(
            "larger than the input limit of {} MiB",
            MAX_INPUT_BYTES / (1024 * 1024)
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        invalid(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

fn describe(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "directory"
    } else if kind.is_fifo() {
        "FIFO"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "device"
    } else {
        "special file"
    }
}

/// Reads and decodes a JSON file; errors name the file and the JSON path.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, StoreError> {
    let text = read_text(path)?;
    Ok(parse_json(&path.display().to_string(), &text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().expect("tmp");
        let fifo = dir.path().join("pipe.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let err = read_text(&fifo).expect_err("a FIFO is refused, not waited on");
        assert!(
            err.to_string().contains("not a regular file (a FIFO)"),
            "{err}"
        );
        let err = read_text(dir.path()).expect_err("a directory");
        assert!(err.to_string().contains("(a directory)"), "{err}");
        let err = read_text(Path::new("/dev/zero")).expect_err("a device");
        assert!(err.to_string().contains("(a device)"), "{err}");
    }

    #[test]
    fn the_os_error_is_named_once() {
        let err = read_text(Path::new("/nonexistent/x.json")).expect_err("missing");
        assert!(
            std::error::Error::source(&err).is_some(),
            "the cause is kept"
        );
        let chain = archon_core::error_text::with_causes(&err);
        assert_eq!(chain.matches("os error 2").count(), 1, "{chain}");
    }

    #[test]
    fn files_over_the_cap_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let big = dir.path().join("big.json");
        let f = std::fs::File::create(&big).expect("create");
        f.set_len(MAX_INPUT_BYTES + 1).expect("sparse file");
        let err = read_text(&big).expect_err("too big");
        assert!(err.to_string().contains("input limit of 64 MiB"), "{err}");
    }
}
