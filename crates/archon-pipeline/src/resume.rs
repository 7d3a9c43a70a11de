//! Resume: `run_state.json`, when a stage is skipped, and per-item marks.
//!
//! A stage is skipped when the state records it done with the same
//! fingerprint and every `stage_manifest.json` it wrote still verifies. Within
//! a stage, items (mandates) are marked started (with their manifest's
//! sha256) and done, so a resumed stage skips finished items. Every path the
//! state records is relative to the run root, so a moved run resumes too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use archon_core::seed::sha256_hex;
use archon_store::artifact_dir::{read_manifest, to_json_bytes, verify_manifest};
use archon_store::{write_atomic, MANIFEST_FILE};
use serde::{Deserialize, Serialize};

use crate::error::PipelineError;
use crate::layout::Layout;
use crate::outcome::Outcome;
use crate::stage::Stage;

/// What `run_state.json` records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub schema_version: String,
    pub stages: BTreeMap<String, StageRecord>,
    /// The rfp session folder the current plans produced, relative to the run
    /// root (older sessions are not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfp_session: Option<PathBuf>,
    /// Items of a stage in progress, by "stage:fingerprint", then by the item's
    /// path relative to the root: `started:<manifest sha256>` or an outcome.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub items: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub fingerprint: String,
    pub outcome: String,
    pub completed_at: String,
}

/// An item's mark: its outcome, or the sha256 of its manifest file when it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemMark {
    Done(Outcome),
    Started(String),
}

const STARTED: &str = "started:";

impl ItemMark {
    fn parse(mark: &str) -> ItemMark {
        match mark.strip_prefix(STARTED) {
            Some(before) => ItemMark::Started(before.to_string()),
            None => ItemMark::Done(Outcome::parse(mark)),
        }
    }

    fn text(&self) -> String {
        match self {
            ItemMark::Done(o) => o.as_str().to_string(),
            ItemMark::Started(before) => format!("{STARTED}{before}"),
        }
    }
}

impl RunState {
    pub fn load(layout: &Layout) -> Result<RunState, PipelineError> {
        let path = layout.run_state();
        Ok(if path.is_file() {
            archon_store::read_json(&path)?
        } else {
            RunState {
                schema_version: archon_core::SCHEMA_VERSION.into(),
                ..Default::default()
            }
        })
    }

    pub fn save(&self, layout: &Layout) -> Result<(), PipelineError> {
        let path = layout.run_state();
        write_atomic(&path, &to_json_bytes(self)).map_err(|e| PipelineError::io(path, e))
    }

    /// The recorded outcome when `stage` is done with `fingerprint`.
    pub fn done_with(&self, stage: Stage, fingerprint: &str) -> Option<Outcome> {
        self.stages
            .get(stage.name())
            .filter(|r| r.fingerprint == fingerprint)
            .map(|r| Outcome::parse(&r.outcome))
    }

    /// Forgets `stage` and every later one: they were made from old outputs.
    /// True when something was forgotten.
    pub fn forget_from(&mut self, stage: Stage) -> bool {
        let before = self.stages.len();
        self.stages
            .retain(|name, _| Stage::from_name(name).is_some_and(|s| s < stage));
        self.stages.len() != before
    }

    /// Records `stage` done and drops its item marks.
    pub fn record(&mut self, stage: Stage, fingerprint: &str, outcome: Outcome, at: String) {
        let prefix = format!("{}:", stage.name());
        self.items.retain(|k, _| !k.starts_with(&prefix));
        self.stages.insert(
            stage.name().to_string(),
            StageRecord {
                fingerprint: fingerprint.to_string(),
                outcome: outcome.as_str().to_string(),
                completed_at: at,
            },
        );
    }

    pub fn mark(&self, key: &str, item: &Path) -> Option<ItemMark> {
        let mark = self.items.get(key)?.get(&item_name(item))?;
        Some(ItemMark::parse(mark))
    }

    pub fn set_mark(&mut self, key: &str, item: &Path, mark: &ItemMark) {
        self.items
            .entry(key.to_string())
            .or_default()
            .insert(item_name(item), mark.text());
    }
}

/// An item's name in the state: its path relative to the root, `/`-separated.
fn item_name(relative: &Path) -> String {
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// What to do with an item the state has this mark for (`None`: never started).
/// `manifest_now` is the sha256 of the manifest the item writes last, and
/// `finished` the outcome that manifest records when it verifies.
pub fn item_decision(
    mark: Option<&ItemMark>,
    manifest_now: impl FnOnce() -> String,
    finished: impl FnOnce() -> Option<Outcome>,
) -> ItemDecision {
    match mark {
        Some(ItemMark::Done(outcome)) => ItemDecision::Skip(*outcome),
        // Killed after writing its manifest but before being marked done:
        // finished (its manifest changed since it started, and verifies), not
        // to be run again, which would append its trails twice.
        Some(ItemMark::Started(before)) if manifest_now() != *before => match finished() {
            Some(outcome) => ItemDecision::Finished(outcome),
            None => ItemDecision::Run,
        },
        _ => ItemDecision::Run,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemDecision {
    /// Marked done: its outcome.
    Skip(Outcome),
    /// Finished before a crash, not yet marked: mark it with this outcome.
    Finished(Outcome),
    Run,
}

/// sha256 of `dir`'s manifest file, empty when there is none.
pub fn manifest_sha(dir: &Path) -> String {
    std::fs::read(dir.join(MANIFEST_FILE))
        .map(|bytes| sha256_hex(&bytes))
        .unwrap_or_default()
}

/// The outcome `dir`'s manifest records, when it is there and verifies.
pub fn finished_outcome(dir: &Path) -> Option<Outcome> {
    let manifest = read_manifest(dir).ok().flatten()?;
    verify_manifest(dir, &manifest)
        .is_empty()
        .then(|| Outcome::parse(&manifest.outcome))
}

/// True when every folder holds a manifest and every manifest verifies.
pub fn outputs_verify(dirs: &[PathBuf]) -> bool {
    !dirs.is_empty()
        && dirs.iter().all(
            |dir| matches!(read_manifest(dir), Ok(Some(m)) if verify_manifest(dir, &m).is_empty()),
        )
}

/// sha256 over the manifests of the folders: what the next stage reads.
pub fn outputs_digest(dirs: &[PathBuf]) -> Result<String, PipelineError> {
    let mut all = String::new();
    for dir in dirs {
        let path = dir.join(MANIFEST_FILE);
        if path.is_file() {
            all.push_str(&sha256_hex(archon_store::read_text(&path)?));
        }
    }
    Ok(sha256_hex(all))
}

/// sha256 over the files of an input folder (names and bytes, in name order).
pub fn tree_digest(dir: &Path) -> Result<String, PipelineError> {
    if !dir.is_dir() {
        return Err(PipelineError::BadInput(format!(
            "{}: session directory not found",
            dir.display()
        )));
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| PipelineError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    let mut all = String::new();
    for p in entries {
        let bytes = std::fs::read(&p).map_err(|e| PipelineError::io(&p, e))?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        all.push_str(&format!("{name}:{}\n", sha256_hex(bytes)));
    }
    Ok(sha256_hex(all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_done_item_is_skipped_with_its_outcome() {
        let done = ItemMark::Done(Outcome::Blocked);
        let d = item_decision(Some(&done), || unreachable!(), || unreachable!());
        assert_eq!(d, ItemDecision::Skip(Outcome::Blocked));
    }

    #[test]
    fn an_item_never_started_runs() {
        assert_eq!(item_decision(None, String::new, || None), ItemDecision::Run);
    }

    #[test]
    fn a_started_item_whose_manifest_did_not_change_runs_again() {
        let started = ItemMark::Started("aa".into());
        let d = item_decision(Some(&started), || "aa".into(), || Some(Outcome::Complete));
        assert_eq!(d, ItemDecision::Run);
    }

    #[test]
    fn a_started_item_with_a_new_verified_manifest_finished() {
        let started = ItemMark::Started("aa".into());
        let d = item_decision(Some(&started), || "bb".into(), || Some(Outcome::Escalated));
        assert_eq!(d, ItemDecision::Finished(Outcome::Escalated));
        // A new manifest that does not verify is a crash mid-write: run again.
        let d = item_decision(Some(&started), || "bb".into(), || None);
        assert_eq!(d, ItemDecision::Run);
    }

    #[test]
    fn recording_a_stage_drops_its_marks_and_forgetting_drops_later_stages() {
        let mut st = RunState::default();
        st.set_mark(
            "proposals:f1",
            Path::new("rfp/s/mandates/m1"),
            &ItemMark::Done(Outcome::Complete),
        );
        st.set_mark(
            "select:f2",
            Path::new("rfp/s/mandates/m1"),
            &ItemMark::Started(String::new()),
        );
        st.record(Stage::Review, "r", Outcome::Complete, "t".into());
        st.record(Stage::Plan, "p", Outcome::Complete, "t".into());
        st.record(Stage::Proposals, "f1", Outcome::Complete, "t".into());
        assert!(!st.items.contains_key("proposals:f1"));
        assert!(st.items.contains_key("select:f2"));
        assert_eq!(st.done_with(Stage::Plan, "p"), Some(Outcome::Complete));
        assert_eq!(st.done_with(Stage::Plan, "other"), None);
        assert!(st.forget_from(Stage::Plan));
        assert_eq!(st.stages.keys().collect::<Vec<_>>(), ["review"]);
        assert!(!st.forget_from(Stage::Plan));
    }

    #[test]
    fn marks_are_keyed_by_relative_path_and_survive_a_save() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(tmp.path());
        let mut st = RunState::load(&layout).expect("fresh");
        let item = Path::new("rfp/s/mandates/m1");
        st.set_mark("select:f", item, &ItemMark::Started("abc".into()));
        st.rfp_session = Some("rfp/s".into());
        st.save(&layout).expect("save");
        let back = RunState::load(&layout).expect("load");
        assert_eq!(back, st);
        assert_eq!(
            back.mark("select:f", item),
            Some(ItemMark::Started("abc".into()))
        );
        let text = std::fs::read_to_string(layout.run_state()).expect("read");
        assert!(!text.contains(&tmp.path().display().to_string()), "{text}");
    }
}
