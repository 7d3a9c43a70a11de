//! Per-tactic (and per-Earl) checkpoints (spec section 8). The bridge reads and
//! writes them through [`CheckpointStore`]; each checkpoint records the hash of
//! the inputs it was made from, and one made from other inputs is ignored.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Where checkpoints live: a directory (CLI), nowhere (`--no-checkpoint`), or
/// read-only (`--dry-run`). `Send`: tactics are decomposed side by side.
pub trait CheckpointStore: Send {
    /// The checkpoint's text, or `None` when there is none.
    fn load(&self, name: &str) -> Result<Option<String>, String>;
    /// Stores a checkpoint; `Ok(false)` when this store does not write.
    fn save(&mut self, name: &str, bytes: &[u8]) -> Result<bool, String>;
}

/// `--no-checkpoint`: nothing is read, nothing is written.
pub struct NoCheckpoints;

impl CheckpointStore for NoCheckpoints {
    fn load(&self, _name: &str) -> Result<Option<String>, String> {
        Ok(None)
    }
    fn save(&mut self, _name: &str, _bytes: &[u8]) -> Result<bool, String> {
        Ok(false)
    }
}

/// The envelope of every checkpoint file.
#[derive(Debug, Serialize, Deserialize)]
pub struct Checkpoint<T> {
    pub schema_version: String,
    pub tactic_id: String,
    /// sha256 of the decomposition inputs (context, mode, seed).
    pub input_hash: String,
    pub content: T,
}

/// What reading a checkpoint found.
pub enum Cached<T> {
    Hit(T),
    Miss,
    /// Present but unusable (other inputs, unreadable): why.
    Ignored(String),
}

pub fn read<T: DeserializeOwned>(
    store: &dyn CheckpointStore,
    name: &str,
    input_hash: &str,
) -> Cached<T> {
    let text = match store.load(name) {
        Ok(Some(t)) => t,
        Ok(None) => return Cached::Miss,
        Err(e) => return Cached::Ignored(e),
    };
    match serde_json::from_str::<Checkpoint<T>>(&text) {
        Ok(c) if c.input_hash == input_hash => Cached::Hit(c.content),
        Ok(_) => Cached::Ignored("made from other inputs".into()),
        Err(e) => Cached::Ignored(format!("unreadable: {e}")),
    }
}

pub fn encode<T: Serialize>(tactic_id: &str, input_hash: &str, content: T) -> Vec<u8> {
    archon_store::artifact_dir::to_json_bytes(&Checkpoint {
        schema_version: archon_core::SCHEMA_VERSION.to_string(),
        tactic_id: tactic_id.to_string(),
        input_hash: input_hash.to_string(),
        content,
    })
}

/// `T-GUSI-001.task_drafts.json`, `T-GUSI-001.earl_raum.json`, …
pub fn task_drafts_name(tactic_id: &str) -> String {
    format!("{tactic_id}.task_drafts.json")
}

pub fn earl_name(tactic_id: &str, earl: &str) -> String {
    format!("{tactic_id}.earl_{}.json", archon_core::ids::slug(earl))
}

pub fn earl_votes_name(tactic_id: &str) -> String {
    format!("{tactic_id}.earl_votes.json")
}

/// Activations already created, so a resumed run never creates one twice.
pub const ACTIVATIONS: &str = "activations.json";
