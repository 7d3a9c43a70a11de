//! The I/O edge of archon: reading inputs, writing artifact directories
//! atomically with sha256 manifests, JSONL event trails, and the advisory
//! folder locks that keep a second writer out.

pub mod artifact_dir;
pub mod event_log;
pub mod fault;
pub mod input;
pub mod lock;
pub mod run_root;
pub mod stop;

pub use artifact_dir::{
    write_atomic, write_atomic_unsynced, ArtifactDir, LedgerHead, StageManifest, MANIFEST_FILE,
};
pub use event_log::EventLog;
pub use input::{read_json, read_text, StoreError};
pub use run_root::recorded_path;
