//! Reading input files with errors that name the file.

use std::path::{Path, PathBuf};

use archon_core::input::{parse_json, InputError, InputErrors};
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
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
            source,
        }
    }
}

/// Reads a UTF-8 text file.
pub fn read_text(path: &Path) -> Result<String, StoreError> {
    std::fs::read_to_string(path).map_err(|e| StoreError::io(path, e))
}

/// Reads and decodes a JSON file; errors name the file and the JSON path.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, StoreError> {
    let text = read_text(path)?;
    Ok(parse_json(&path.display().to_string(), &text)?)
}
