//! Every path under a run root that the report and the provenance chain read,
//! in one place (what `archon run` writes; see `commands/run.rs`).

use std::path::{Path, PathBuf};

/// A run root (`archon run --out`).
#[derive(Debug, Clone)]
pub struct RunLayout {
    root: PathBuf,
}

impl RunLayout {
    pub fn new(root: impl Into<PathBuf>) -> RunLayout {
        RunLayout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn ledger(&self) -> PathBuf {
        self.root.join("governance.db")
    }

    /// `review/<session>/`, one per reviewed consolidator session.
    pub fn review_sessions(&self) -> Vec<PathBuf> {
        subdirs(&self.root.join("review"))
    }

    pub fn review_session(&self, session_id: &str) -> PathBuf {
        self.root.join("review").join(session_id)
    }

    pub fn executive_root(&self) -> PathBuf {
        self.root.join("executive")
    }

    /// `executive/<session>/`, one per planned session.
    pub fn executive_sessions(&self) -> Vec<PathBuf> {
        subdirs(&self.executive_root())
    }

    /// `executive/<session>/<motion>/`, one per planned motion.
    pub fn plan_dirs(&self, session_id: &str) -> Vec<PathBuf> {
        subdirs(&self.executive_root().join(session_id))
    }

    pub fn rfp_root(&self) -> PathBuf {
        self.root.join("rfp")
    }

    /// `rfp/<rfp_session>/`.
    pub fn rfp_sessions(&self) -> Vec<PathBuf> {
        subdirs(&self.rfp_root())
    }

    /// `rfp/<session>/mandates/<mandate>/` of the rfp session `run_state.json`
    /// names as current (older sessions are stale), else of every session.
    pub fn mandate_dirs(&self) -> Vec<PathBuf> {
        let sessions = match self.current_rfp_session() {
            Some(current) => vec![current],
            None => self.rfp_sessions(),
        };
        sessions
            .iter()
            .flat_map(|s| subdirs(&s.join("mandates")))
            .collect()
    }

    /// The run state records the session folder by path; its name is what
    /// locates it under this root wherever the root has moved.
    fn current_rfp_session(&self) -> Option<PathBuf> {
        #[derive(serde::Deserialize)]
        struct RunState {
            rfp_session: Option<PathBuf>,
        }
        let state: RunState = archon_store::read_json(&self.root.join("run_state.json")).ok()?;
        let name = state.rfp_session?.file_name()?.to_os_string();
        let dir = self.rfp_root().join(name);
        dir.is_dir().then_some(dir)
    }

    pub fn execution_report(&self, task_ref: &str) -> PathBuf {
        self.root
            .join("execute")
            .join(task_ref)
            .join("execution-stage-report.json")
    }

    /// Where `archon report` writes by default.
    pub fn report_file(&self) -> PathBuf {
        self.root.join("report.html")
    }
}

/// Files of a review session folder.
pub mod review {
    pub const TRIAGE: &str = "triage_results.json";
    pub const AGGREGATIONS: &str = "aggregations.json";
    pub const RATIFICATION: &str = "ratification_results.json";
    pub const RATIFIED: &str = "ratified_motions.json";
    pub const REJECTED: &str = "rejected_motions.json";
    pub const DEFERRED: &str = "deferred_motions.json";
    pub const PANELS: &str = "panel_deliberations";
}

/// Files of a plan folder (`executive/<session>/<motion>/`).
pub mod plan {
    pub const PLAN: &str = "execution_plan_v2.json";
    pub const GATES: &str = "executive_gates.json";
}

/// Files of a mandate folder (`rfp/<session>/mandates/<mandate>/`).
pub mod mandate {
    pub const DOSSIER: &str = "rfp.json";
    pub const SELECTION: &str = "selection/selection_result.json";
    pub const INBOX: &str = "proposals_inbox";
    pub const INBOX_MANIFEST: &str = "proposals_inbox/inbox_manifest.json";
    pub const DRAFTS: &str = "execution_bridge/task_drafts.json";
}

/// The sub-folders of `dir` in path order (none when it does not exist).
pub fn subdirs(dir: &Path) -> Vec<PathBuf> {
    entries(dir, Path::is_dir)
}

/// The files of `dir` in path order (none when it does not exist).
pub fn files(dir: &Path) -> Vec<PathBuf> {
    entries(dir, Path::is_file)
}

fn entries(dir: &Path, keep: fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(p))
        .collect();
    v.sort();
    v
}
