//! `archon rfp EXECUTIVE_DIR`: the Presidents' Implementation Dossier, one mandate per motion.

use std::path::PathBuf;

use anyhow::Result;
use archon_admin::dossier::DossierStatus;
use archon_admin::io::{self, RfpOptions};
use clap::Args;

use archon_pipeline::Layout;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Args)]
pub struct RfpArgs {
    /// An executive session folder (every motion) or one motion folder with execution_plan_v2.json.
    pub executive_dir: PathBuf,
    /// Root of rfp sessions; mandates go to <DIR>/<rfp_session>/mandates/<mandate_id>/.
    #[arg(long, value_name = "DIR", default_value_os_t = Layout::default().rfp())]
    pub out: PathBuf,
    /// Only this motion of the session.
    #[arg(long, value_name = "ID")]
    pub motion_id: Option<String>,
    /// Re-ask only the Presidents whose contribution failed in the last run.
    #[arg(long)]
    pub retry_failed: bool,
}

pub fn run(ctx: &Context, args: &RfpArgs) -> Result<Outcome> {
    let roster = ctx.roster()?;
    let agents = ctx.agents()?;
    let opts = RfpOptions {
        out: args.out.clone(),
        motion_id: args.motion_id.clone(),
        retry_failed: args.retry_failed,
    };
    let report = io::rfp(&args.executive_dir, &opts, &roster, &agents, &ctx.clock)?;
    let blocked = report
        .mandates
        .iter()
        .filter(|m| m.status == DossierStatus::Blocked)
        .count();
    if ctx.global.json {
        let rows: Vec<_> = report
            .mandates
            .iter()
            .map(|m| serde_json::json!({"motion_id": m.motion_id, "mandate_id": m.mandate_id, "mandate_dir": m.mandate_dir,
                "status": m.status, "blocked_reasons": m.blocked_reasons, "reused": m.reused}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if ctx.loud() {
        println!("rfp session {}", report.session_dir.display());
        for m in &report.mandates {
            let status = if m.status == DossierStatus::Final {
                "final"
            } else {
                "blocked"
            };
            let reused = if m.reused { " (up to date)" } else { "" };
            println!(
                "  {} -> {}: {status}{reused}",
                m.motion_id,
                m.mandate_dir.display()
            );
            for r in &m.blocked_reasons {
                println!("    blocked: {r}");
            }
        }
        for m in &report.without_epics {
            println!("  {m}: no mandate (the plan has no epics, nothing to deliver)");
        }
        if blocked > 0 {
            println!("blocked: {blocked} dossier(s); run again with --retry-failed");
        }
    }
    Ok(if blocked > 0 {
        Outcome::Blocked
    } else {
        Outcome::Complete
    })
}
