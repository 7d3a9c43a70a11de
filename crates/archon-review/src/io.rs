//! The I/O edge: reads a session directory and response files, writes the
//! review directory through [`ArtifactDir`] (manifest last).

use std::collections::BTreeMap;
use std::path::Path;

use archon_core::input::InputErrors;
use archon_store::{read_text, ArtifactDir, StageManifest, StoreError};

use crate::pipeline::ReviewRun;
use crate::responses::ResponseSet;
use crate::session::{SessionTexts, MEGA_MOTIONS_FILE, NOVEL_PROPOSALS_FILE};

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("{0}")]
    Input(#[from] InputErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {message}")]
    Path { path: String, message: String },
}

/// Reads `mega-motions.json` and, when present, `novel-proposals.json`; the
/// session id is the directory's name.
pub fn read_session(dir: &Path) -> Result<SessionTexts, ReviewError> {
    if !dir.is_dir() {
        return Err(ReviewError::Path {
            path: dir.display().to_string(),
            message: "session directory does not exist (expected a consolidator session with mega-motions.json)".into(),
        });
    }
    let session_id = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let novel = dir.join(NOVEL_PROPOSALS_FILE);
    Ok(SessionTexts {
        session_id,
        mega_motions: read_text(&dir.join(MEGA_MOTIONS_FILE))?,
        novel_proposals: if novel.exists() {
            Some(read_text(&novel)?)
        } else {
            None
        },
    })
}

/// The file names `--responses` reads.
pub const RESPONSE_FILE_PATTERN: &str = "archon-<archon id>.json";

/// Reads `archon-*.json` from `DIR/review_responses/` or, without it, from
/// `DIR`. A folder without any such file is an error naming the folder, the
/// expected pattern and the files that are there; other files are listed in
/// [`ResponseSet::ignored_files`].
pub fn read_responses(dir: &Path) -> Result<ResponseSet, ReviewError> {
    let sub = dir.join("review_responses");
    let dir = if sub.is_dir() { sub } else { dir.to_path_buf() };
    let entries = std::fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
    let (mut names, mut ignored): (Vec<String>, Vec<String>) = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .partition(|n| n.starts_with("archon-") && n.ends_with(".json"));
    names.sort();
    ignored.sort();
    if names.is_empty() {
        let found = if ignored.is_empty() {
            "the folder is empty".to_string()
        } else {
            format!("misnamed files: {}", ignored.join(", "))
        };
        return Err(ReviewError::Path {
            path: dir.display().to_string(),
            message: format!("no review response file matching {RESPONSE_FILE_PATTERN} ({found})"),
        });
    }
    let mut files = Vec::new();
    for n in names {
        files.push((n.clone(), read_text(&dir.join(&n))?));
    }
    let mut set = ResponseSet::parse(&dir.display().to_string(), &files)?;
    set.ignored_files = ignored;
    Ok(set)
}

/// Writes every artifact of a run into `out`, then the manifest.
pub fn write_run(
    out: &Path,
    run: &ReviewRun<'_>,
    input_hash: String,
    inputs: BTreeMap<String, String>,
) -> Result<StageManifest, StoreError> {
    let mut dir = ArtifactDir::begin(out)?;
    dir.write_json("triage_results.json", &run.triage)?;
    for p in run.packets() {
        dir.write_json(&format!("review_packets/archon-{}.json", p.archon_id), &p)?;
    }
    for f in run.reviews.files() {
        dir.write_json(&format!("review_responses/archon-{}.json", f.archon_id), &f)?;
    }
    for f in run
        .extended
        .files()
        .filter(|f| !f.submissions.is_empty() || !f.no_response.is_empty())
    {
        dir.write_json(
            &format!("extended_review_responses/archon-{}.json", f.archon_id),
            &f,
        )?;
    }
    dir.write_json(
        "aggregations.json",
        &serde_json::json!({
            "schema_version": archon_core::SCHEMA_VERSION,
            "session_id": run.triage.session_id,
            "aggregations": run.aggregations,
        }),
    )?;
    for p in &run.panels {
        dir.write_json(&format!("panel_deliberations/panel-{}.json", p.panel_id), p)?;
    }
    dir.write_json("ratification_results.json", &run.ratification)?;
    dir.write_json("ratified_motions.json", &run.ratified)?;
    dir.write_json("rejected_motions.json", &run.rejected)?;
    dir.write_json("deferred_motions.json", &run.deferred)?;
    dir.write_json("pipeline_result.json", &run.result)?;
    dir.write_json(
        "full_audit_trail.json",
        &serde_json::json!({
            "schema_version": archon_core::SCHEMA_VERSION,
            "session_id": run.triage.session_id,
            "events": run.events,
        }),
    )?;
    dir.write_jsonl(archon_core::agent_port::CALLS_FILE, &run.calls)?;
    dir.finish(
        "review",
        "complete",
        input_hash,
        inputs,
        run.result.completed_at.clone(),
    )
}
