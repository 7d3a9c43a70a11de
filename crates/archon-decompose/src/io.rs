//! The file edge: finding the inputs (auto-detection, spec section 12), reading
//! and validating them before anything is written, the checkpoint directory,
//! and writing `execution_bridge/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use archon_core::ids::check_file_component;
use archon_core::input::InputError;
use archon_core::seed::sha256_hex;
use archon_store::{
    read_text, recorded_path, write_atomic_unsynced, ArtifactDir, LedgerHead, StoreError,
};

use crate::bridge::{BridgeInputs, BridgeOutput};
use crate::checkpoint::CheckpointStore;
use crate::inputs::{Rfp, RoutingTable, SelectionResult, Winner};
use crate::tactics::{check_against_json, parse_tactics};
use crate::DecomposeError;

/// Name of the output directory inside the mandate directory.
pub const BRIDGE_DIR: &str = "execution_bridge";
/// The bridge's counters and outcome (spec 5d).
pub const SUMMARY_FILE: &str = "bridge_summary.json";

/// Where the inputs are, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct InputPaths {
    pub selection_file: Option<PathBuf>,
    pub from_selection_dir: Option<PathBuf>,
    pub rfp_file: Option<PathBuf>,
    pub proposal_md: Option<PathBuf>,
    /// Output root searched by auto-detection (`archon-out`).
    pub out_root: PathBuf,
}

/// The resolved inputs, read and parsed.
pub struct Located {
    pub selection_file: PathBuf,
    pub mandate_dir: PathBuf,
    pub selection: SelectionResult,
    pub winner: Winner,
    pub proposal_md: PathBuf,
    pub rfp_file: PathBuf,
    /// Input name → sha256 of its bytes.
    pub hashes: BTreeMap<String, String>,
    proposal_text: String,
    rfp_text: String,
}

fn newest_dir(dir: &Path) -> Option<PathBuf> {
    let entries = fs::read_dir(dir).ok()?;
    let mut dirs: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| {
            let mtime = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            (mtime, e.path())
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, p)| p)
}

/// The selection file: explicit, or the newest under `<out_root>/rfp/`.
fn selection_path(paths: &InputPaths) -> Result<PathBuf, DecomposeError> {
    if let Some(f) = &paths.selection_file {
        return Ok(f.clone());
    }
    if let Some(d) = &paths.from_selection_dir {
        return Ok(d.join("selection_result.json"));
    }
    let Some(session) = newest_dir(&paths.out_root.join(archon_store::run_root::RFP_DIR)) else {
        return Err(DecomposeError::Stop(
            "No RFP session found. Use --selection-file or --from-selection-dir.".into(),
        ));
    };
    let Some(mandate) = newest_dir(&session.join("mandates")) else {
        return Err(DecomposeError::Stop(format!(
            "No mandate found in {}. Use --selection-file or --from-selection-dir.",
            session.join("mandates").display()
        )));
    };
    let file = mandate.join("selection").join("selection_result.json");
    if !file.is_file() {
        return Err(DecomposeError::Stop(format!(
            "No selection result found at {}. Run `archon select` first, or use --selection-file.",
            file.display()
        )));
    }
    Ok(file)
}

/// Resolves and reads the selection, the winning proposal and the RFP (spec 4, step A).
pub fn locate(paths: &InputPaths) -> Result<Located, DecomposeError> {
    let selection_file = selection_path(paths)?;
    let selection_text = read_text(&selection_file)?;
    let source = selection_file.display().to_string();
    let selection = SelectionResult::parse(&source, &selection_text)?;
    let winner = selection.winner(&source)?;
    // <mandate>/selection/selection_result.json
    let mandate_dir = selection_file
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let proposal_md = match &paths.proposal_md {
        Some(p) => p.clone(),
        None => {
            let inbox = mandate_dir.join("proposals_inbox");
            let candidates: Vec<PathBuf> = winner
                .file_stems
                .iter()
                .map(|s| inbox.join(format!("proposal_{s}.md")))
                .collect();
            match candidates.iter().find(|p| p.is_file()) {
                Some(p) => p.clone(),
                None => {
                    return Err(InputError::new(
                        source,
                        "$.winning_proposal_id",
                        format!(
                            "the winning proposal of Duke {} is not in the inbox (looked for {}); use --proposal-md",
                            winner.duke_name,
                            candidates
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .into())
                }
            }
        }
    };
    let rfp_file = paths
        .rfp_file
        .clone()
        .unwrap_or_else(|| mandate_dir.join("rfp.json"));
    let proposal_text = read_text(&proposal_md)?;
    let rfp_text = read_text(&rfp_file)?;
    let hashes = BTreeMap::from([
        ("selection_result".to_string(), sha256_hex(&selection_text)),
        ("proposal".to_string(), sha256_hex(&proposal_text)),
        ("rfp".to_string(), sha256_hex(&rfp_text)),
    ]);
    Ok(Located {
        selection_file,
        mandate_dir,
        selection,
        winner,
        proposal_md,
        rfp_file,
        hashes,
        proposal_text,
        rfp_text,
    })
}

/// Parses the located documents and the configuration into the bridge's inputs.
pub fn bridge_inputs(
    located: &Located,
    clusters: archon_tasks::ClusterRegistry,
    routing_table: RoutingTable,
) -> Result<BridgeInputs, DecomposeError> {
    let md_source = located.proposal_md.display().to_string();
    let tactics = parse_tactics(&md_source, &located.proposal_text)?;
    // The proposal stage writes the JSON beside the markdown: when it is there,
    // the markdown must list the same tactics.
    let json_path = located.proposal_md.with_extension("json");
    if json_path.is_file() {
        let json_source = json_path.display().to_string();
        let json: serde_json::Value =
            archon_core::input::parse_json(&json_source, &read_text(&json_path)?)?;
        check_against_json(&md_source, &tactics, &json_source, &json)?;
    }
    let rfp = Rfp::parse(&located.rfp_file.display().to_string(), &located.rfp_text)?;
    Ok(BridgeInputs {
        // Relative to the run root the mandate lies in, so the events do not
        // depend on where the run is.
        selection_file: recorded_path(
            archon_store::run_root::containing(&located.mandate_dir).as_deref(),
            &located.selection_file,
        ),
        selection: located.selection.clone(),
        winner: located.winner.clone(),
        tactics,
        rfp,
        clusters,
        routing_table,
    })
}

/// Checkpoints in a directory; read-only for `--dry-run`.
pub struct DirCheckpoints {
    dir: PathBuf,
    writable: bool,
}

impl DirCheckpoints {
    pub fn new(dir: PathBuf, writable: bool) -> DirCheckpoints {
        DirCheckpoints { dir, writable }
    }

    /// `--clear-checkpoints`: removes the directory.
    pub fn clear(dir: &Path) -> Result<(), StoreError> {
        match fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io(dir, e)),
            _ => Ok(()),
        }
    }
}

impl CheckpointStore for DirCheckpoints {
    fn load(&self, name: &str) -> Result<Option<String>, String> {
        check_file_component(name)?;
        let path = self.dir.join(name);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    fn save(&mut self, name: &str, bytes: &[u8]) -> Result<bool, String> {
        if !self.writable {
            return Ok(false);
        }
        check_file_component(name)?;
        let path = self.dir.join(name);
        // Atomic but not synced (one fsync per tactic would dominate a large
        // proposal): a checkpoint a power loss ate is unreadable or absent, so it
        // is ignored and its tactic asked again; a killed process loses nothing.
        write_atomic_unsynced(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(true)
    }
}

/// Writes `execution_bridge/` (appending this run's events to the trail, its
/// call records replacing the previous run's) and its stage manifest, last;
/// `ledger_head` is the governance ledger's head after the activations,
/// anchored in the manifest.
pub fn write_outputs(
    bridge_dir: &Path,
    output: &BridgeOutput,
    input_hash: String,
    inputs: BTreeMap<String, String>,
    ledger_head: Option<LedgerHead>,
) -> Result<(), StoreError> {
    let mut dir = ArtifactDir::begin(bridge_dir)?;
    dir.anchor_ledger(ledger_head);
    dir.write_json("task_drafts.json", &output.task_drafts)?;
    dir.write_json("routing_plan.json", &output.routing_plan)?;
    dir.write_json("activation_manifest.json", &output.activation_manifest)?;
    dir.write_json(SUMMARY_FILE, &output.summary)?;
    dir.append_jsonl("bridge_events.jsonl", &output.events)?;
    // This run's calls only: `archon usage` must not mix a rerun's (say, LLM)
    // calls with an earlier run's (simulated) ones.
    dir.write_jsonl(archon_core::agent_port::CALLS_FILE, &output.calls)?;
    dir.finish(
        "decompose",
        &output.summary.outcome,
        input_hash,
        inputs,
        output.summary.created_at.clone(),
    )?;
    Ok(())
}
