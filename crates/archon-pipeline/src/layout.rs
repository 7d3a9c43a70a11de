//! Every path under a run root, spelled once. Commands, stages and reports
//! (`archon status`, `archon trace`, `archon report`) ask a [`Layout`] instead of
//! joining names themselves:
//!
//! ```text
//! <root>/input/<session>/                       the bundled example session, when no SESSION_DIR is given
//! <root>/review/<session>/                      archon review
//! <root>/executive/<session>/<motion>/          archon plan
//! <root>/rfp/<rfp_session>/mandates/<mandate>/  archon rfp, proposals, select, decompose
//! <root>/governance.db                          the ledger: activations, consent, results
//! <root>/workspaces/<task>/                     where each task's work is done
//! <root>/execute/<task>/                        each task's Execution Stage Report
//! <root>/cassettes/                             LLM mode: every model exchange
//! <root>/doctrine/SKILL.md                      archon doctrine assemble
//! <root>/run_state.json                         what each stage was made from (resume)
//! <root>/report.html                            archon report (and the end of archon run)
//! ```

use std::path::{Path, PathBuf};

/// The run root commands use when none is given.
pub const DEFAULT_ROOT: &str = "archon-out";
pub use archon_store::run_root::{EXECUTIVE_DIR, LEDGER_FILE, REVIEW_DIR, RFP_DIR, RUN_STATE_FILE};
/// Where the lock holder writes its pid; removed when the lock is released.
pub const LOCK_PID_FILE: &str = ".archon-lock.pid";
pub const REPORT_FILE: &str = "execution-stage-report.md";
/// The page `archon report` writes by default.
pub const HTML_REPORT_FILE: &str = "report.html";

/// The paths of one run root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Default for Layout {
    /// `./archon-out`.
    fn default() -> Layout {
        Layout::new(DEFAULT_ROOT)
    }
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Layout {
        Layout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Input sessions the run wrote itself (the bundled example).
    pub fn input(&self) -> PathBuf {
        self.root.join("input")
    }

    pub fn review_root(&self) -> PathBuf {
        self.root.join(REVIEW_DIR)
    }

    pub fn review(&self, session_id: &str) -> PathBuf {
        self.review_root().join(session_id)
    }

    pub fn executive_root(&self) -> PathBuf {
        self.root.join(EXECUTIVE_DIR)
    }

    pub fn executive(&self, session_id: &str) -> PathBuf {
        self.executive_root().join(session_id)
    }

    /// Root of rfp sessions: `<rfp>/<rfp_session>/mandates/<mandate>/`.
    pub fn rfp(&self) -> PathBuf {
        self.root.join(RFP_DIR)
    }

    pub fn ledger(&self) -> PathBuf {
        self.root.join(LEDGER_FILE)
    }

    pub fn workspaces(&self) -> PathBuf {
        self.root.join("workspaces")
    }

    pub fn workspace(&self, task_ref: &str) -> PathBuf {
        self.workspaces().join(task_ref)
    }

    pub fn execute(&self) -> PathBuf {
        self.root.join("execute")
    }

    /// A task's Execution Stage Report (markdown; the JSON goes beside it).
    pub fn execution_report(&self, task_ref: &str) -> PathBuf {
        self.execute().join(task_ref).join(REPORT_FILE)
    }

    /// The JSON twin of [`Layout::execution_report`], which `archon execute` writes beside it.
    pub fn execution_report_json(&self, task_ref: &str) -> PathBuf {
        self.execution_report(task_ref).with_extension("json")
    }

    /// Where `archon report` writes the run's page by default.
    pub fn html_report(&self) -> PathBuf {
        self.root.join(HTML_REPORT_FILE)
    }

    /// `review/<session>/`, one per reviewed session, in name order.
    pub fn review_sessions(&self) -> Vec<PathBuf> {
        subdirs(&self.review_root())
    }

    /// `executive/<session>/`, one per planned session, in name order.
    pub fn executive_sessions(&self) -> Vec<PathBuf> {
        subdirs(&self.executive_root())
    }

    /// `executive/<session>/<motion>/`, one per planned motion, in name order.
    pub fn plans(&self, session_id: &str) -> Vec<PathBuf> {
        subdirs(&self.executive(session_id))
    }

    /// The mandate folders of the rfp session `run_state.json` names as
    /// current (older sessions are stale); of every rfp session when the
    /// state names none (stage commands run by hand).
    pub fn current_mandates(&self) -> Vec<PathBuf> {
        let current = crate::resume::RunState::load(self)
            .ok()
            .and_then(|state| state.rfp_session)
            .map(|session| self.resolve(&session))
            .filter(|dir| dir.is_dir());
        match current {
            Some(session) => Layout::mandates(&session),
            None => subdirs(&self.rfp())
                .iter()
                .flat_map(|s| Layout::mandates(s))
                .collect(),
        }
    }

    pub fn cassettes(&self) -> PathBuf {
        self.root.join("cassettes")
    }

    pub fn doctrine_skill(&self) -> PathBuf {
        self.root.join("doctrine").join("SKILL.md")
    }

    pub fn run_state(&self) -> PathBuf {
        self.root.join(RUN_STATE_FILE)
    }

    pub fn lock_pid_file(&self) -> PathBuf {
        self.root.join(LOCK_PID_FILE)
    }

    /// The mandate folders of an rfp session (those holding `rfp.json`), in path order.
    pub fn mandates(rfp_session: &Path) -> Vec<PathBuf> {
        subdirs(&rfp_session.join("mandates"))
            .into_iter()
            .filter(|m| m.join(archon_admin::io::RFP_FILE).is_file())
            .collect()
    }

    pub fn proposals_inbox(mandate: &Path) -> PathBuf {
        mandate.join(archon_admin::io::INBOX_DIR)
    }

    pub fn selection(mandate: &Path) -> PathBuf {
        mandate.join(archon_admin::io::SELECTION_DIR)
    }

    pub fn selection_file(mandate: &Path) -> PathBuf {
        Layout::selection(mandate).join(archon_admin::io::SELECTION_FILE)
    }

    pub fn execution_bridge(mandate: &Path) -> PathBuf {
        mandate.join(archon_decompose::io::BRIDGE_DIR)
    }

    /// `path` relative to the root, for records that must not depend on where
    /// the root is; `None` when `path` is outside it.
    pub fn relative(&self, path: &Path) -> Option<PathBuf> {
        path.strip_prefix(&self.root).ok().map(Path::to_path_buf)
    }

    /// A path [`Layout::relative`] gave, under this root.
    pub fn resolve(&self, relative: &Path) -> PathBuf {
        self.root.join(relative)
    }

    /// The run root `dir` (a stage folder, a mandate, a selection folder, …)
    /// lies in: the nearest folder, `dir` itself included, that holds a run's
    /// ledger or run state, else the folder holding the `rfp/`, `review/` or
    /// `executive/` folder `dir` lies in. `None` when `dir` is in no run root.
    pub fn containing(dir: &Path) -> Option<Layout> {
        archon_store::run_root::containing(dir).map(Layout::new)
    }
}

/// The sub-folders of `dir`, in name order; none when it does not exist.
pub fn subdirs(dir: &Path) -> Vec<PathBuf> {
    entries(dir, Path::is_dir)
}

/// The files of `dir`, in name order; none when it does not exist.
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

/// Files of a review session folder (`review/<session>/`).
pub mod review_files {
    pub const TRIAGE: &str = "triage_results.json";
    pub const AGGREGATIONS: &str = "aggregations.json";
    pub const RATIFICATION: &str = "ratification_results.json";
    pub const RATIFIED: &str = "ratified_motions.json";
    pub const REJECTED: &str = "rejected_motions.json";
    pub const DEFERRED: &str = "deferred_motions.json";
    pub const PANELS: &str = "panel_deliberations";
}

/// Files of a plan folder (`executive/<session>/<motion>/`).
pub mod plan_files {
    pub const PLAN: &str = archon_admin::io::PLAN_FILE;
    pub const GATES: &str = "executive_gates.json";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_under_another_root() {
        let a = Layout::new("runs/a");
        let mandate = a.rfp().join("s1/mandates/m1");
        let rel = a.relative(&mandate).expect("inside");
        assert_eq!(rel, Path::new("rfp/s1/mandates/m1"));
        assert_eq!(
            Layout::new("/elsewhere/b").resolve(&rel),
            Path::new("/elsewhere/b/rfp/s1/mandates/m1")
        );
        assert_eq!(a.relative(Path::new("other/x")), None);
    }
}
