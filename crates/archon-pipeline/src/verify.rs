//! What `archon verify` checks of a run root, as one library call that the
//! command and the report's verification line share: every stage manifest
//! against its files, every sealed ratification vote of a review folder, and
//! the ledger (hash chain, two-phase discipline, projection) still holding
//! each head a manifest anchored and each anchor kept elsewhere.

use std::path::{Path, PathBuf};

use archon_store::artifact_dir::{check_manifests_under, ManifestCheck};
use archon_store::{LedgerHead, MANIFEST_FILE};
use archon_tasks::{verify_ledger_anchored, Anchor, VerifyReport};
use serde::Serialize;

use crate::error::PipelineError;

/// The verdict on a run root (what `archon verify --json` prints).
#[derive(Debug, Clone, Serialize)]
pub struct RunVerification {
    pub ok: bool,
    pub ledger_path: Option<String>,
    pub ledger: Option<VerifyReport>,
    pub manifests: Vec<ManifestCheck>,
}

/// Verifies the stage folders under `dir` (when given) and the ledger at
/// `ledger` (when given), which must also hold every head in `kept` (the
/// source says where each was kept, e.g. `--anchor`).
pub fn verify_run(
    dir: Option<&Path>,
    ledger: Option<&Path>,
    kept: &[Anchor],
) -> Result<RunVerification, PipelineError> {
    let mut manifests = match dir {
        Some(d) => check_manifests_under(d)?,
        None => Vec::new(),
    };
    for m in manifests
        .iter_mut()
        .filter(|m| m.stage.as_deref() == Some("review"))
    {
        m.problems.extend(check_review_votes(Path::new(&m.dir)));
    }
    let mut anchors = kept.to_vec();
    anchors.extend(manifests.iter().filter_map(|m| {
        Some(Anchor {
            source: Path::new(&m.dir).join(MANIFEST_FILE).display().to_string(),
            head: m.ledger_head.clone()?,
        })
    }));
    let report = match ledger {
        Some(path) => Some(verify_ledger_anchored(path, &anchors)?),
        None => {
            // A ledger deleted outright is the last truncation.
            for m in manifests.iter_mut() {
                if let Some(head) = &m.ledger_head {
                    m.problems.push(no_ledger_for(head));
                }
            }
            None
        }
    };
    let ok =
        report.as_ref().is_none_or(|l| l.ok) && manifests.iter().all(|m| m.problems.is_empty());
    Ok(RunVerification {
        ok,
        // A database URL is shown without its password.
        ledger_path: ledger.map(|p| {
            archon_tasks::Location::parse(p)
                .display_name()
                .display()
                .to_string()
        }),
        ledger: report,
        manifests,
    })
}

fn no_ledger_for(head: &LedgerHead) -> String {
    format!(
        "anchors ledger head #{}, but there is no ledger to check it against",
        head.seq
    )
}

/// The ledger a run root `dir` holds, when it holds one.
pub fn ledger_of(dir: &Path) -> Option<PathBuf> {
    Some(crate::Layout::new(dir).ledger()).filter(|p| p.is_file())
}

/// A review directory's sealed votes: every commitment and every tally of
/// `ratification_results.json` recomputed; the problem names the first vote
/// (archon and motion) that does not match.
fn check_review_votes(dir: &Path) -> Vec<String> {
    let path = dir.join(crate::layout::review_files::RATIFICATION);
    // A file the manifest lists but that is gone is the manifest check's finding.
    if !path.is_file() {
        return Vec::new();
    }
    let results: archon_review::ratify::RecordedResults = match archon_store::read_json(&path) {
        Ok(r) => r,
        Err(e) => return vec![e.to_string()],
    };
    match archon_review::ratify::verify_recorded(&results) {
        Ok(_) => Vec::new(),
        Err(e) => vec![format!("{}: {e}", path.display())],
    }
}
