//! Artifact directories. Every file is written atomically (temp file, fsync,
//! rename), and a stage's directory is complete only when its
//! `stage_manifest.json` (sha256 of every file, hash of the inputs) is written,
//! last. A directory without a manifest is an interrupted run, never a result.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::input::StoreError;
use archon_core::seed::sha256_hex;

/// Name of the manifest that marks a stage directory complete.
pub const MANIFEST_FILE: &str = "stage_manifest.json";

/// The record of one completed stage run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageManifest {
    pub schema_version: String,
    pub stage: String,
    /// `complete`, `blocked` or `escalated`.
    pub outcome: String,
    /// sha256 over the stage's inputs (files, seed, options), for resume.
    pub input_hash: String,
    /// Input name → sha256 of its bytes (provenance).
    pub inputs: BTreeMap<String, String>,
    /// Relative path → sha256 of every file the stage wrote.
    pub files: BTreeMap<String, String>,
    /// Append-only trails (relative path → bytes written by completed runs): what
    /// a later run keeps when an interrupted run appended lines after it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub trails: BTreeMap<String, u64>,
    pub completed_at: String,
    /// The governance ledger's head after this stage's writes to it (stages that
    /// write to the ledger only): `archon verify DIR` checks the ledger still
    /// holds this event, so a recomputed chain or a truncated ledger shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_head: Option<LedgerHead>,
}

/// One event of the governance ledger, by position and hash: an anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerHead {
    pub seq: u64,
    pub hash: String,
}

/// Where `begin` keeps the last complete manifest while a new run is in progress.
const PREVIOUS_MANIFEST_FILE: &str = ".stage_manifest.previous.json";

/// Writes `bytes` to `path` so that readers see the old file or the new one, never
/// a mix, and durably (file and rename are synced before it returns).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_file(path, bytes, true)
}

/// [`write_atomic`] without the syncs: atomic for readers (and across a killed
/// process), but a power loss may lose it. For files whose loss is detected and
/// repaired anyway (checkpoints verified by sha256 before reuse).
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_file(path, bytes, false)
}

/// Temp file in the same folder, then rename: atomic for readers. With `durable`,
/// the data and the rename are synced; without, the caller syncs later (see
/// [`ArtifactDir::finish`]), which turns one fsync per file into one per stage.
fn replace_file(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("artifact");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    crate::fault::point(name);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
    }
    fs::rename(&tmp, path)?;
    if durable {
        // Make the rename itself durable.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Most fsyncs in flight at once. A sync mostly waits on the disk, so running
/// them side by side lets the device merge the flushes: the whole chain's
/// ≈1,000 artifact syncs cost about as much as a few dozen one after another.
const PARALLEL_SYNCS: usize = 16;

/// Flushes the files written under `root`, then their folders (the renames), to
/// disk: one fsync per file and one per folder, instead of two per file, spread
/// over [`PARALLEL_SYNCS`] threads. Order does not matter: all of them finish
/// before the manifest that vouches for them is written.
fn sync_files(root: &Path, files: &BTreeMap<String, String>) -> std::io::Result<()> {
    let mut paths: Vec<PathBuf> = files.keys().map(|rel| root.join(rel)).collect();
    let dirs: std::collections::BTreeSet<PathBuf> = paths
        .iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    paths.extend(dirs);
    let per_thread = paths.len().div_ceil(PARALLEL_SYNCS).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || chunk.iter().try_for_each(sync_path)))
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    })
}

fn sync_path(path: &PathBuf) -> std::io::Result<()> {
    File::open(path)?.sync_all()
}

/// Removes the temp files a killed writer left below `root` (`.<name>.tmp-<pid>`),
/// so that a resumed run leaves no trace of the crash. Call it only when no other
/// process writes below `root`.
pub fn remove_stale_temp_files(root: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    let Ok(entries) = fs::read_dir(root) else {
        return Ok(0);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            removed += remove_stale_temp_files(&path)?;
        } else if name.starts_with('.') && name.contains(".tmp-") {
            fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Pretty JSON with a trailing newline: the one serialisation of every artifact.
pub fn to_json_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serialising our own artifact types cannot fail (string keys, finite data).
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// One compact JSON object per line: the one serialisation of every JSONL trail.
pub fn to_jsonl_bytes<T: Serialize>(items: &[T]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for item in items {
        // Our own event types always serialise.
        bytes.extend(serde_json::to_vec(item).unwrap_or_default());
        bytes.push(b'\n');
    }
    bytes
}

/// A stage's output directory being written.
pub struct ArtifactDir {
    root: PathBuf,
    files: BTreeMap<String, String>,
    /// Full content of each append-only trail written by this run.
    trails: BTreeMap<String, Vec<u8>>,
    previous: Option<StageManifest>,
    ledger_head: Option<LedgerHead>,
}

impl ArtifactDir {
    /// Opens `root` for a new run. The old manifest (if any) is set aside first, so
    /// that the directory does not look complete while it is being rewritten; it is
    /// kept (hidden) until this run finishes, so that a run killed half-way still
    /// lets the next one tell completed trail lines from interrupted ones.
    pub fn begin(root: &Path) -> Result<ArtifactDir, StoreError> {
        fs::create_dir_all(root).map_err(|e| StoreError::io(root, e))?;
        let manifest = root.join(MANIFEST_FILE);
        let aside = root.join(PREVIOUS_MANIFEST_FILE);
        if manifest.exists() {
            crate::fault::point("manifest set aside");
            fs::rename(&manifest, &aside).map_err(|e| StoreError::io(&manifest, e))?;
        }
        let previous = if aside.exists() {
            crate::input::read_json::<StageManifest>(&aside).ok()
        } else {
            None
        };
        Ok(ArtifactDir {
            root: root.to_path_buf(),
            files: BTreeMap::new(),
            trails: BTreeMap::new(),
            previous,
            ledger_head: None,
        })
    }

    /// Appends lines to an append-only JSONL trail. The trail keeps the lines of
    /// completed runs; lines an interrupted run appended after them are dropped, so
    /// a resumed run leaves the same trail as an uninterrupted one. The whole file
    /// is rewritten atomically, never half-appended.
    pub fn append_jsonl<T: Serialize>(&mut self, rel: &str, items: &[T]) -> Result<(), StoreError> {
        let mut content = match self.trails.remove(rel) {
            Some(c) => c,
            None => self.committed_trail(rel)?,
        };
        content.extend(to_jsonl_bytes(items));
        self.write_bytes(rel, &content)?;
        self.trails.insert(rel.to_string(), content);
        Ok(())
    }

    /// The part of an existing trail that completed runs wrote. When the recorded
    /// prefix does not match (an edited file), the whole file is kept: data is only
    /// dropped when it is provably an interrupted run's.
    fn committed_trail(&self, rel: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.root.join(rel);
        let current = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        let Some(prev) = &self.previous else {
            // No run ever completed here: every line is an interrupted run's.
            return Ok(Vec::new());
        };
        let (Some(&len), Some(sha)) = (prev.trails.get(rel), prev.files.get(rel)) else {
            return Ok(current);
        };
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        match current.get(..len) {
            Some(prefix) if &sha256_hex(prefix) == sha => Ok(prefix.to_vec()),
            _ => Ok(current),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Records the ledger head this stage left (see [`StageManifest::ledger_head`]).
    pub fn anchor_ledger(&mut self, head: Option<LedgerHead>) {
        self.ledger_head = head;
    }

    /// Writes bytes at `rel` (a relative path of safe components).
    pub fn write_bytes(&mut self, rel: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.root.join(rel);
        // Synced all at once by `finish`, before the manifest that makes them count.
        replace_file(&path, bytes, false).map_err(|e| StoreError::io(&path, e))?;
        self.files.insert(rel.to_string(), sha256_hex(bytes));
        Ok(())
    }

    pub fn write_json<T: Serialize + ?Sized>(
        &mut self,
        rel: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        self.write_bytes(rel, &to_json_bytes(value))
    }

    pub fn write_text(&mut self, rel: &str, text: &str) -> Result<(), StoreError> {
        self.write_bytes(rel, text.as_bytes())
    }

    /// Writes a whole JSONL trail at once.
    pub fn write_jsonl<T: Serialize>(&mut self, rel: &str, items: &[T]) -> Result<(), StoreError> {
        self.write_bytes(rel, &to_jsonl_bytes(items))
    }

    /// Records a file written elsewhere (e.g. an appended event trail) in the manifest.
    pub fn adopt(&mut self, rel: &str) -> Result<(), StoreError> {
        let path = self.root.join(rel);
        let bytes = fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        self.files.insert(rel.to_string(), sha256_hex(&bytes));
        Ok(())
    }

    /// Removes files of the previous run that this run did not write, then writes
    /// the manifest: from here on the directory is complete.
    pub fn finish(
        self,
        stage: &str,
        outcome: &str,
        input_hash: String,
        inputs: BTreeMap<String, String>,
        completed_at: String,
    ) -> Result<StageManifest, StoreError> {
        if let Some(prev) = &self.previous {
            for rel in prev.files.keys().filter(|r| !self.files.contains_key(*r)) {
                let _ = fs::remove_file(self.root.join(rel));
            }
        }
        let manifest = StageManifest {
            schema_version: archon_core::SCHEMA_VERSION.to_string(),
            stage: stage.to_string(),
            outcome: outcome.to_string(),
            input_hash,
            inputs,
            files: self.files,
            trails: self
                .trails
                .iter()
                .map(|(k, v)| (k.clone(), v.len() as u64))
                .collect(),
            completed_at,
            ledger_head: self.ledger_head,
        };
        // Every file must be on disk before the manifest that vouches for them.
        sync_files(&self.root, &manifest.files).map_err(|e| StoreError::io(&self.root, e))?;
        let path = self.root.join(MANIFEST_FILE);
        write_atomic(&path, &to_json_bytes(&manifest)).map_err(|e| StoreError::io(&path, e))?;
        let aside = self.root.join(PREVIOUS_MANIFEST_FILE);
        if aside.exists() {
            fs::remove_file(&aside).map_err(|e| StoreError::io(&aside, e))?;
        }
        Ok(manifest)
    }
}

/// Reads the manifest of a stage directory; `None` when the stage never completed.
pub fn read_manifest(root: &Path) -> Result<Option<StageManifest>, StoreError> {
    let path = root.join(MANIFEST_FILE);
    if !path.exists() {
        return Ok(None);
    }
    crate::input::read_json(&path).map(Some)
}

/// Checks every file listed in a manifest against its recorded sha256; returns
/// the problems found (missing or changed files), in path order.
pub fn verify_manifest(root: &Path, manifest: &StageManifest) -> Vec<String> {
    manifest
        .files
        .iter()
        .filter_map(|(rel, want)| match fs::read(root.join(rel)) {
            Err(e) => Some(format!("{}: {e}", root.join(rel).display())),
            Ok(bytes) if &sha256_hex(&bytes) != want => Some(format!(
                "{}: sha256 differs from the manifest",
                root.join(rel).display()
            )),
            Ok(_) => None,
        })
        .collect()
}

/// One stage directory's manifest check (what `archon verify` lists).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManifestCheck {
    pub dir: String,
    pub stage: Option<String>,
    pub problems: Vec<String>,
    /// The ledger head the manifest anchored, which the ledger must still hold.
    #[serde(skip)]
    pub ledger_head: Option<LedgerHead>,
}

/// Checks every stage directory below `dir` (its own included, symlinks not
/// followed), in path order.
pub fn check_manifests_under(dir: &Path) -> Result<Vec<ManifestCheck>, StoreError> {
    let mut found = Vec::new();
    find_manifests(dir, &mut found)?;
    found.sort();
    Ok(found.iter().map(|root| check_manifest(root)).collect())
}

fn check_manifest(root: &Path) -> ManifestCheck {
    let dir = root.display().to_string();
    match read_manifest(root) {
        Ok(Some(m)) => ManifestCheck {
            dir,
            stage: Some(m.stage.clone()),
            problems: verify_manifest(root, &m),
            ledger_head: m.ledger_head,
        },
        Ok(None) => ManifestCheck {
            dir,
            stage: None,
            problems: vec!["manifest vanished while checking".to_string()],
            ledger_head: None,
        },
        Err(e) => ManifestCheck {
            dir,
            stage: None,
            problems: vec![e.to_string()],
            ledger_head: None,
        },
    }
}

fn find_manifests(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), StoreError> {
    if dir.join(MANIFEST_FILE).is_file() {
        out.push(dir.to_path_buf());
    }
    for entry in fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            find_manifests(&entry.path(), out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_is_written_last_and_verifies() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("out");
        let mut dir = ArtifactDir::begin(&root).unwrap();
        dir.write_json("a.json", &serde_json::json!({"x": 1}))
            .unwrap();
        dir.write_text("sub/b.md", "# b\n").unwrap();
        assert!(read_manifest(&root).unwrap().is_none());
        let m = dir
            .finish("test", "complete", "h".into(), BTreeMap::new(), "t".into())
            .unwrap();
        assert_eq!(m.files.len(), 2);
        assert_eq!(read_manifest(&root).unwrap().unwrap(), m);
        assert!(verify_manifest(&root, &m).is_empty());
        fs::write(root.join("a.json"), "{}").unwrap();
        assert_eq!(verify_manifest(&root, &m).len(), 1);
    }

    #[test]
    fn trails_keep_completed_runs_and_drop_an_interrupted_one() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("out");
        let line = |n: u32| serde_json::json!({ "n": n });
        let finish = |d: ArtifactDir| {
            d.finish("t", "complete", "h".into(), BTreeMap::new(), "t".into())
                .unwrap()
        };
        let mut d = ArtifactDir::begin(&root).unwrap();
        d.append_jsonl("e.jsonl", &[line(1)]).unwrap();
        finish(d);
        // An interrupted run: it appends, then dies before finishing.
        let mut d = ArtifactDir::begin(&root).unwrap();
        d.append_jsonl("e.jsonl", &[line(2)]).unwrap();
        drop(d);
        let mut d = ArtifactDir::begin(&root).unwrap();
        d.append_jsonl("e.jsonl", &[line(3)]).unwrap();
        d.append_jsonl("e.jsonl", &[line(4)]).unwrap();
        let m = finish(d);
        let text = fs::read_to_string(root.join("e.jsonl")).unwrap();
        assert_eq!(text, "{\"n\":1}\n{\"n\":3}\n{\"n\":4}\n");
        assert_eq!(m.trails["e.jsonl"], text.len() as u64);
        assert!(verify_manifest(&root, &m).is_empty());
        assert!(!root.join(PREVIOUS_MANIFEST_FILE).exists());
    }

    #[test]
    fn stale_temp_files_are_swept() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("a")).unwrap();
        fs::write(tmp.path().join("a/.x.json.tmp-42"), "half").unwrap();
        fs::write(tmp.path().join("a/x.json"), "{}").unwrap();
        assert_eq!(remove_stale_temp_files(tmp.path()).unwrap(), 1);
        assert!(tmp.path().join("a/x.json").exists());
    }

    #[test]
    fn rerun_removes_stale_files_and_hides_manifest_while_running() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("out");
        let mut dir = ArtifactDir::begin(&root).unwrap();
        dir.write_text("old.txt", "x").unwrap();
        dir.finish("t", "complete", "h".into(), BTreeMap::new(), "t".into())
            .unwrap();
        let mut dir = ArtifactDir::begin(&root).unwrap();
        assert!(!root.join(MANIFEST_FILE).exists());
        dir.write_text("new.txt", "y").unwrap();
        dir.finish("t", "complete", "h".into(), BTreeMap::new(), "t".into())
            .unwrap();
        assert!(!root.join("old.txt").exists());
        assert!(root.join("new.txt").exists());
    }
}
