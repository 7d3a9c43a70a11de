//! The file edge: reading a review directory, a packet or an inbox, and writing
//! a motion's artifact directory (manifest last).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use archon_core::ids::safe_component;
use archon_core::input::{from_value, parse_json, InputError};
use archon_core::seed::sha256_hex;
use archon_store::{
    read_text, recorded_path, write_atomic, ArtifactDir, StageManifest, StoreError,
};

use crate::error::PlanError;
use crate::inbox::InboxFile;
use crate::model::SourceArtifact;
use crate::packet::{build_packet, validate_packet, RatifiedIntentPacket};
use crate::pipeline::PlanOutput;
use crate::review_input::{aggregation_context, panel_dissent, RatifiedMotionsFile, ReviewContext};

pub const RATIFIED_MOTIONS: &str = "ratified_motions.json";
pub const AGGREGATIONS: &str = "aggregations.json";
pub const PANELS_DIR: &str = "panel_deliberations";
pub const EVENTS_FILE: &str = "executive_events.jsonl";
pub const STAGE: &str = "plan";

/// The packets of a review directory, with the sha256 of each input file read.
pub struct ReviewPackets {
    pub session_id: String,
    pub packets: Vec<RatifiedIntentPacket>,
    pub inputs: BTreeMap<String, String>,
}

/// Reads `REVIEW_DIR/ratified_motions.json` (required) and the review's dissent
/// and concerns (optional), and builds one packet per ratified motion. The
/// packets record each source's path relative to the run root the review
/// folder lies in (a folder outside a run: relative to its parent), so neither
/// they nor the ids hashed from plans depend on where the run is.
pub fn read_review_dir(dir: &Path, created_at: &str) -> Result<ReviewPackets, PlanError> {
    let run_root = archon_store::run_root::containing(dir);
    let run_root = run_root.as_deref().or(dir.parent());
    let recorded = |name: &str| recorded_path(run_root, &dir.join(name));
    let path = dir.join(RATIFIED_MOTIONS);
    let text = read_text(&path)?;
    let source = path.display().to_string();
    let file: RatifiedMotionsFile = parse_json(&source, &text)?;
    let mut inputs = BTreeMap::new();
    let motions_sha = sha256_hex(&text);
    inputs.insert(RATIFIED_MOTIONS.to_string(), motions_sha.clone());
    let aggregations = read_optional(&dir.join(AGGREGATIONS), &mut inputs, AGGREGATIONS)?;
    let mut packets = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, m) in file.motions.iter().enumerate() {
        let at = format!("$.motions[{i}].mega_motion_id");
        safe_component(&m.mega_motion_id, &source, &at)?;
        if !seen.insert(m.mega_motion_id.clone()) {
            return Err(InputError::new(
                &source,
                at,
                format!("motion {} appears twice", m.mega_motion_id),
            )
            .into());
        }
        let mut sources = vec![SourceArtifact {
            name: RATIFIED_MOTIONS.into(),
            path: recorded(RATIFIED_MOTIONS),
            sha256: motions_sha.clone(),
        }];
        let mut review = ReviewContext::default();
        if let Some((value, sha)) = &aggregations {
            aggregation_context(value, &m.mega_motion_id, &mut review);
            sources.push(SourceArtifact {
                name: AGGREGATIONS.into(),
                path: recorded(AGGREGATIONS),
                sha256: sha.clone(),
            });
        }
        if let Some(panel_id) = &m.provenance.panel_id {
            safe_component(
                panel_id,
                &source,
                &format!("$.motions[{i}].provenance.panel_id"),
            )?;
            let name = format!("{PANELS_DIR}/panel-{panel_id}.json");
            if let Some((value, sha)) = read_optional(&dir.join(&name), &mut inputs, &name)? {
                panel_dissent(&value, &mut review);
                sources.push(SourceArtifact {
                    name: name.clone(),
                    path: recorded(&name),
                    sha256: sha,
                });
            }
        }
        packets.push(build_packet(
            &file.session_id,
            m,
            review,
            sources,
            created_at,
        ));
    }
    safe_component(&file.session_id, &source, "$.session_id")?;
    Ok(ReviewPackets {
        session_id: file.session_id,
        packets,
        inputs,
    })
}

fn read_optional(
    path: &Path,
    inputs: &mut BTreeMap<String, String>,
    name: &str,
) -> Result<Option<(Value, String)>, PlanError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = read_text(path)?;
    let value: Value = parse_json(&path.display().to_string(), &text)?;
    let sha = sha256_hex(&text);
    inputs.insert(name.to_string(), sha.clone());
    Ok(Some((value, sha)))
}

/// Reads one Ratified Intent Packet (`--packet FILE`).
pub fn read_packet(path: &Path) -> Result<(RatifiedIntentPacket, String), PlanError> {
    let text = read_text(path)?;
    let source = path.display().to_string();
    let value: Value = parse_json(&source, &text)?;
    validate_packet(&source, &value)?;
    let packet: RatifiedIntentPacket = from_value(&source, "$", &value)?;
    safe_component(&packet.motion_id, &source, "$.motion_id")?;
    safe_component(&packet.session_id, &source, "$.session_id")?;
    Ok((packet.complete(), sha256_hex(&text)))
}

/// The inbox files (`*.json`, sorted by name); a missing inbox is empty.
pub fn read_inbox(dir: &Path) -> Result<Vec<InboxFile>, PlanError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".json") && entry.path().is_file() {
            files.push(InboxFile {
                text: read_text(&entry.path())?,
                name,
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Writes scaffold templates that do not exist yet; returns the paths written.
pub fn write_scaffold(
    dir: &Path,
    templates: &[(String, Value)],
) -> Result<Vec<PathBuf>, PlanError> {
    let mut written = Vec::new();
    for (name, value) in templates {
        let path = dir.join(name);
        if path.exists() {
            continue;
        }
        write_atomic(&path, &archon_store::artifact_dir::to_json_bytes(value))
            .map_err(|e| StoreError::io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// Writes a motion's directory: every artifact, the event trail, then the manifest.
pub fn write_motion(
    dir: &Path,
    output: &PlanOutput,
    outcome: &str,
    input_hash: String,
    inputs: BTreeMap<String, String>,
    completed_at: String,
) -> Result<StageManifest, PlanError> {
    let mut out = ArtifactDir::begin(dir)?;
    for (rel, value) in &output.files {
        out.write_json(rel, value)?;
    }
    out.write_jsonl(EVENTS_FILE, &output.events)?;
    out.write_jsonl(archon_core::agent_port::CALLS_FILE, &output.calls)?;
    Ok(out.finish(STAGE, outcome, input_hash, inputs, completed_at)?)
}
