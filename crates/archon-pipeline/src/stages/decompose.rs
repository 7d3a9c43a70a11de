//! `decompose`: the Earl Decomposition Bridge on a mandate's winner, with its
//! checkpoints, and activations in the ledger of the run the mandate is in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::fan_out::Turn;
use archon_core::roster::Roster;
use archon_core::seed::sha256_hex;
use archon_decompose::checkpoint::{CheckpointStore, NoCheckpoints};
use archon_decompose::inputs::RoutingTable;
use archon_decompose::io::{self, DirCheckpoints, InputPaths, Located, BRIDGE_DIR};
use archon_decompose::ledger_sink::LedgerSink;
use archon_decompose::{
    run_bridge, ActivationSink, BridgeInputs, BridgeOptions, BridgeSummary, DecomposeError,
    DecompositionMode, Progress, Services,
};
use archon_tasks::Ledger;

use crate::fingerprint::roster_sha256;
use crate::{AnswerSource, Fingerprint, Layout, Outcome};

/// The bundled Earl routing table (portfolio → Earl of the bundled roster).
const BUNDLED_ROUTING_TABLE: &str = include_str!("../../../../data/earl_routing_table.json");
const BUNDLED_TABLE_SOURCE: &str = "bundled earl_routing_table.json";

#[derive(Debug, Clone)]
pub struct DecomposeOptions {
    /// selection_result.json; default: the newest under the default run root's rfp/.
    pub selection_file: Option<PathBuf>,
    /// The folder holding selection_result.json.
    pub from_selection_dir: Option<PathBuf>,
    /// Default: `<mandate>/rfp.json`.
    pub rfp_file: Option<PathBuf>,
    /// Default: `<mandate>/proposals_inbox/proposal_<duke>.md`.
    pub proposal_md: Option<PathBuf>,
    /// Cluster definitions; default: the bundled clusters.
    pub cluster_dir: Option<PathBuf>,
    /// Default: the bundled table.
    pub earl_routing_table: Option<PathBuf>,
    pub tactic_id: Option<String>,
    pub max_tasks_per_tactic: u32,
    pub ttl_hours: u32,
    pub route_top_k: u32,
    /// Drafts and routing plan only: nothing activated.
    pub no_activate: bool,
    /// Nothing written, nothing activated.
    pub dry_run: bool,
    /// Default: `<mandate>/execution_bridge/checkpoints`.
    pub checkpoint_dir: Option<PathBuf>,
    pub no_checkpoint: bool,
    pub clear_checkpoints: bool,
    /// Default: the governance.db of the run root the mandate is in.
    pub ledger: Option<PathBuf>,
}

impl Default for DecomposeOptions {
    /// The spec's defaults: 8 tasks per tactic, 72 hours, the top cluster.
    fn default() -> DecomposeOptions {
        DecomposeOptions {
            selection_file: None,
            from_selection_dir: None,
            rfp_file: None,
            proposal_md: None,
            cluster_dir: None,
            earl_routing_table: None,
            tactic_id: None,
            max_tasks_per_tactic: 8,
            ttl_hours: 72,
            route_top_k: 1,
            no_activate: false,
            dry_run: false,
            checkpoint_dir: None,
            no_checkpoint: false,
            clear_checkpoints: false,
            ledger: None,
        }
    }
}

/// Everything the bridge reads, read and validated before anything is
/// asked or written.
pub struct DecomposeInput {
    located: Located,
    /// The winner, its tactics, the rfp, the clusters and the routing table.
    pub bridge: BridgeInputs,
    table_hash: String,
    /// Cluster files that were skipped, for the caller to warn about.
    pub skipped_clusters: Vec<String>,
}

/// What a decomposition did.
#[derive(Debug, Clone)]
pub struct DecomposeReport {
    pub outcome: Outcome,
    pub summary: BridgeSummary,
    /// `<mandate>/execution_bridge/`, written unless a dry run.
    pub bridge_dir: PathBuf,
}

impl DecomposeReport {
    /// The summary block of spec section 6; rarer counters only when non-zero.
    pub fn render(&self, dry_run: bool) -> String {
        let c = &self.summary.counters;
        let mut o = String::from("\nEarl Decomposition Bridge Summary\n");
        let mut line = |label: &str, n: usize| {
            o.push_str(&format!("  {:<23}{n}\n", format!("{label}:")));
        };
        line("Tactics processed", c.total_tactics);
        line("Task drafts created", c.total_task_drafts);
        line("Activations created", c.activations_created);
        line("Activations failed", c.activations_failed);
        line("No eligible cluster", c.no_eligible_cluster);
        for (label, n) in [
            ("Capacity blocked", c.capacity_blocked),
            ("Ambiguous tactics", c.ambiguous_tactics),
            ("Explosion review", c.explosion_review),
            ("Overlap review", c.overlap_review),
            ("Weak provenance", c.weak_provenance),
        ] {
            if n > 0 {
                line(label, n);
            }
        }
        if dry_run {
            o.push_str("  (dry run: nothing written, nothing activated)\n");
        }
        o
    }
}

/// Locates the selection, the winner's proposal and the rfp, and reads the
/// clusters and the routing table. A table given by path must name Earls of
/// `roster`.
pub fn read_input(
    opts: &DecomposeOptions,
    roster: &Roster,
) -> Result<DecomposeInput, DecomposeError> {
    let located = io::locate(&InputPaths {
        selection_file: opts.selection_file.clone(),
        from_selection_dir: opts.from_selection_dir.clone(),
        rfp_file: opts.rfp_file.clone(),
        proposal_md: opts.proposal_md.clone(),
        out_root: Layout::default().root().to_path_buf(),
    })?;
    let clusters = archon_tasks::io::load_clusters(opts.cluster_dir.as_deref())?;
    let skipped_clusters = clusters.skipped().to_vec();
    let (routing_table, table_hash) = load_routing_table(opts.earl_routing_table.as_deref())?;
    let bridge = io::bridge_inputs(&located, clusters, routing_table)?;
    // The bundled table names the bundled roster's Earls: with another roster
    // its facilitator is resolved as the bridge documents (the roster's first Earl).
    if let Some(table) = opts.earl_routing_table.as_deref() {
        bridge
            .routing_table
            .check_earls(&table.display().to_string(), roster)?;
    }
    Ok(DecomposeInput {
        located,
        bridge,
        table_hash,
        skipped_clusters,
    })
}

/// How the Earls answer with these agents.
pub fn mode_of(agents: &Agents) -> DecompositionMode {
    if agents.backend_name() == "simulation" {
        DecompositionMode::Simulation
    } else {
        DecompositionMode::MultiEarl
    }
}

/// The bridge on `input`: drafts, lint, routing, activations (waiting for
/// `turn` when decompositions run side by side), then the outputs and the
/// fingerprint. `progress` sees every event and console note.
pub fn decompose(
    input: &DecomposeInput,
    opts: &DecomposeOptions,
    roster: &Roster,
    agents: &Agents,
    clock: &Clock,
    turn: Option<&Turn<'_>>,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<DecomposeReport, DecomposeError> {
    let options = BridgeOptions {
        mode: mode_of(agents),
        tactic_id: opts.tactic_id.clone(),
        max_tasks_per_tactic: opts.max_tasks_per_tactic as usize,
        ttl_hours: opts.ttl_hours,
        route_top_k: opts.route_top_k as usize,
        seed: agents.seed(),
    };
    let mandate_dir = &input.located.mandate_dir;
    let bridge_dir = mandate_dir.join(BRIDGE_DIR);
    let checkpoint_dir = opts
        .checkpoint_dir
        .clone()
        .unwrap_or_else(|| bridge_dir.join("checkpoints"));
    if opts.clear_checkpoints && !opts.dry_run {
        DirCheckpoints::clear(&checkpoint_dir)?;
    }
    let mut checkpoints: Box<dyn CheckpointStore> = if opts.no_checkpoint {
        Box::new(NoCheckpoints)
    } else {
        Box::new(DirCheckpoints::new(checkpoint_dir, !opts.dry_run))
    };
    let mut ledger = if opts.no_activate || opts.dry_run {
        None
    } else {
        // The ledger of the run the mandate belongs to, wherever the command runs from.
        let path = opts
            .ledger
            .clone()
            .unwrap_or_else(|| Layout::containing(mandate_dir).unwrap_or_default().ledger());
        let ledger = Ledger::open(&path)
            .map_err(|e| DecomposeError::Usage(format!("governance ledger: {e}")))?
            .with_clusters(input.bridge.clusters.clone());
        Some(LedgerSink {
            ledger,
            clock,
            turn,
            anchor: None,
        })
    };
    let output = run_bridge(
        &input.bridge,
        &options,
        Services {
            agents,
            roster,
            clock,
            checkpoints: checkpoints.as_mut(),
            activation: ledger.as_mut().map(|l| l as &mut dyn ActivationSink),
            progress,
        },
    )?;
    if !opts.dry_run {
        let mut hashes = input.located.hashes.clone();
        hashes.insert("earl_routing_table".into(), input.table_hash.clone());
        hashes.insert("roster".into(), roster_sha256(roster));
        let clusters: Vec<_> = input.bridge.clusters.all().collect();
        hashes.insert(
            "clusters".into(),
            sha256_hex(serde_json::to_vec(&clusters).unwrap_or_default()),
        );
        let input_hash = input_hash(&hashes, &options, opts);
        let ledger_head = ledger.and_then(|sink| sink.anchor);
        io::write_outputs(&bridge_dir, &output, input_hash, hashes, ledger_head)?;
    }
    Ok(DecomposeReport {
        outcome: if output.is_complete() {
            Outcome::Complete
        } else {
            Outcome::Blocked
        },
        summary: output.summary,
        bridge_dir,
    })
}

fn load_routing_table(path: Option<&Path>) -> Result<(RoutingTable, String), DecomposeError> {
    let (source, text) = match path {
        Some(p) => (p.display().to_string(), archon_store::read_text(p)?),
        None => (
            BUNDLED_TABLE_SOURCE.to_string(),
            BUNDLED_ROUTING_TABLE.to_string(),
        ),
    };
    Ok((RoutingTable::parse(&source, &text)?, sha256_hex(&text)))
}

fn input_hash(
    hashes: &BTreeMap<String, String>,
    o: &BridgeOptions,
    opts: &DecomposeOptions,
) -> String {
    let answers = match o.mode {
        DecompositionMode::Simulation => AnswerSource::Simulation,
        DecompositionMode::MultiEarl => AnswerSource::Model,
    };
    Fingerprint::new("decompose")
        .inputs(hashes)
        .seed(o.seed.0)
        .answers(answers)
        .option("tactic_id", o.tactic_id.as_deref().unwrap_or(""))
        .option("max_tasks_per_tactic", o.max_tasks_per_tactic)
        .option("ttl_hours", o.ttl_hours)
        .option("route_top_k", o.route_top_k)
        .option("activate", !opts.no_activate)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::plan::{self, PlanOptions};
    use crate::stages::test_support::{self, clock, roster};
    use archon_admin::io::{ProposalsOptions, RfpOptions, SelectCliOptions};
    use archon_admin::select::{DEFAULT_MAX_ITERATIONS, DEFAULT_TOP_N};
    use archon_artifacts::SelectionOutcome;
    use archon_core::seed::Seed;

    /// The bundled example taken to selection under `root` through the
    /// stages' library calls: the mandates with a winner.
    fn selected_mandates(root: &Path) -> Vec<PathBuf> {
        let layout = Layout::new(root);
        let review = test_support::reviewed(root, &layout.review("s")).out;
        let (roster, agents, clock) = (roster(), Agents::simulated(Seed(7)), clock());
        let opts = PlanOptions {
            review_dir: Some(review),
            out: Some(layout.executive("s")),
            emit_admin_handoff: true,
            ..PlanOptions::default()
        };
        let input = plan::read_input(&opts, &clock).expect("plan input");
        plan::plan(&input, &opts, &roster, &agents, &clock).expect("plan");
        let rfp = RfpOptions {
            out: layout.rfp(),
            motion_id: None,
            retry_failed: false,
        };
        let rfp = archon_admin::io::rfp(&layout.executive("s"), &rfp, &roster, &agents, &clock)
            .expect("rfp");
        let mut winners = Vec::new();
        for mandate in Layout::mandates(&rfp.session_dir) {
            let opts = ProposalsOptions {
                duke_name: None,
                revise: false,
            };
            archon_admin::io::proposals(&mandate, &opts, &roster, &agents, &clock)
                .expect("proposals");
            let opts = SelectCliOptions {
                max_iterations: DEFAULT_MAX_ITERATIONS,
                top_n: DEFAULT_TOP_N,
            };
            let selected = archon_admin::io::select(&mandate, &opts, &roster, &agents, &clock)
                .expect("select");
            if selected.result.outcome == SelectionOutcome::WinnerSelected {
                winners.push(mandate);
            }
        }
        winners
    }

    /// The first mandate with a winner, and the options that decompose it.
    fn first_winner(root: &Path) -> (PathBuf, DecomposeOptions) {
        let mandate = selected_mandates(root)
            .into_iter()
            .next()
            .expect("a winner");
        let opts = DecomposeOptions {
            from_selection_dir: Some(mandate.join("selection")),
            ..DecomposeOptions::default()
        };
        (mandate, opts)
    }

    #[test]
    fn activates_into_the_ledger_of_the_mandates_run_root() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("run");
        let (mandate, opts) = first_winner(&root);
        let roster = roster();
        let input = read_input(&opts, &roster).expect("input");
        assert!(input.skipped_clusters.is_empty());
        let agents = Agents::simulated(Seed(7));
        let mut notes = 0;
        let report = decompose(&input, &opts, &roster, &agents, &clock(), None, &mut |_| {
            notes += 1
        })
        .expect("decompose");
        assert!(notes > 0, "the bridge reported no progress");
        let summary = report.render(false);
        let created = format!(
            "  Activations created:   {}\n",
            report.summary.counters.activations_created
        );
        assert!(
            summary.starts_with("\nEarl Decomposition Bridge Summary\n"),
            "{summary}"
        );
        assert!(summary.contains(&created), "{summary}");
        assert_eq!(report.bridge_dir, mandate.join(BRIDGE_DIR));
        assert!(report.bridge_dir.join("stage_manifest.json").is_file());
        let c = &report.summary.counters;
        assert!(c.total_task_drafts > 0);
        assert_eq!(
            c.activations_created + c.activations_failed,
            c.activations_attempted
        );
        // Not ./archon-out/governance.db: the run's own ledger.
        let ledger = Ledger::open(root.join("governance.db")).expect("ledger");
        assert_eq!(ledger.tasks().expect("tasks").len(), c.activations_created);
    }

    /// Killed after its activations' checkpoint, before its manifest: the
    /// rerun takes every receipt from the checkpoint and must still anchor its
    /// manifest to the ledger commit the first run made.
    #[test]
    fn a_resumed_decomposition_anchors_to_the_activations_it_finds() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("run");
        let (_, opts) = first_winner(&root);
        let (roster, agents) = (roster(), Agents::simulated(Seed(7)));
        let run = || {
            let input = read_input(&opts, &roster).expect("input");
            let report = decompose(&input, &opts, &roster, &agents, &clock(), None, &mut |_| {})
                .expect("decompose");
            let manifest = report.bridge_dir.join(archon_store::MANIFEST_FILE);
            let text = std::fs::read_to_string(&manifest).expect("manifest");
            let manifest: archon_store::artifact_dir::StageManifest =
                serde_json::from_str(&text).expect("manifest json");
            (report.bridge_dir, manifest.ledger_head)
        };
        let (bridge_dir, first) = run();
        assert!(first.is_some(), "the first run anchors its activations");
        assert!(bridge_dir.join("checkpoints").is_dir());
        std::fs::remove_file(bridge_dir.join(archon_store::MANIFEST_FILE)).expect("crash");
        let (_, resumed) = run();
        assert_eq!(resumed, first);
    }

    #[test]
    fn a_selection_without_a_winner_stops() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let selection = tmp.path().join("mandate/selection");
        std::fs::create_dir_all(&selection).expect("dir");
        let result = serde_json::json!({
            "schema_version": "1.0", "outcome": "REVISION_REQUESTED", "rankings": []
        });
        std::fs::write(selection.join("selection_result.json"), result.to_string()).expect("write");
        let opts = DecomposeOptions {
            from_selection_dir: Some(selection),
            ..DecomposeOptions::default()
        };
        match read_input(&opts, &roster()) {
            Err(DecomposeError::Stop(m)) => assert!(m.contains("REVISION_REQUESTED"), "{m}"),
            Err(e) => panic!("not a stop: {e}"),
            Ok(_) => panic!("decomposed a selection without a winner"),
        }
    }
}
