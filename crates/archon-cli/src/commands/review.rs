//! `archon review SESSION_DIR`: the Motion Review Pipeline.

use std::path::PathBuf;

use archon_agents::CassetteMode;

use anyhow::Result;
use archon_pipeline::stages::review::{self, ReviewOptions};
use archon_review::pipeline::{MotionOutcome, TriageResults};
use archon_review::ratify::ReviewPath;
use clap::Args;

use crate::context::Context;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    /// Consolidator session directory (mega-motions.json, optional novel-proposals.json).
    pub session_dir: PathBuf,
    /// Output directory; default: archon-out/review/<session_id>/.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the triage and write nothing.
    #[arg(long)]
    pub triage_only: bool,
    /// Turn each novel proposal into a motion (always HIGH risk).
    #[arg(long)]
    pub include_novel: bool,
    /// Read review responses (review_responses/archon-<id>.json) instead of asking agents.
    #[arg(long, value_name = "DIR")]
    pub responses: Option<PathBuf>,
    /// Supporters missing from the roster become warnings instead of errors.
    #[arg(long)]
    pub allow_unknown_supporters: bool,
}

pub fn run(ctx: &Context, args: &ReviewArgs) -> Result<Outcome> {
    let roster = ctx.roster()?;
    let opts = ReviewOptions {
        session_dir: args.session_dir.clone(),
        out: args.out.clone(),
        include_novel: args.include_novel,
        responses: args.responses.clone(),
        allow_unknown_supporters: args.allow_unknown_supporters,
    };
    let input = review::read_input(&opts, &roster)?;
    for w in &input.warnings {
        eprintln!("warning: {w}");
    }
    if args.triage_only {
        print_triage(ctx, &review::triage(&input, &roster, &ctx.clock))?;
        return Ok(Outcome::Complete);
    }
    let agents = ctx.agents()?;
    let cassette = match agents.mode() {
        "simulation" => CassetteMode::Off,
        _ => ctx.cassette()?,
    };
    let report = review::review(&input, &opts, &roster, &agents, &ctx.clock, &cassette)?;
    if ctx.global.verbose > 0 {
        for e in &report.events {
            eprintln!(
                "event {} {} {}",
                e.event_type,
                e.attributed_to.join(","),
                e.payload
            );
        }
    }
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(&report.result)?);
    } else if ctx.loud() {
        let r = &report.result;
        println!(
            "archon review {} ({} mode, seed {})",
            r.session_id, r.mode, r.seed
        );
        println!(
            "  triage: {} motions: {} low, {} medium, {} high ({} novel proposals in input)",
            report.triage.summary.total_motions,
            r.low_risk_count,
            r.medium_risk_count,
            r.high_risk_count,
            r.novel_proposals_input
        );
        println!(
            "  reviews: {} assignments, {} valid, {} invalid, {} no response ({:.0}% response rate)",
            r.total_assignments, r.review_responses, r.invalid_submissions, r.no_responses, r.response_rate * 100.0
        );
        println!(
            "  aggregation: {} amendment syntheses; extended review of {} motions ({} archons asked again); panels convened: {}",
            r.amendment_syntheses, r.extended_reviews, r.extended_review_asked, r.panels_convened
        );
        for (label, file) in [
            ("ratified", &report.ratified),
            ("rejected", &report.rejected),
            ("deferred", &report.deferred),
        ] {
            if !file.motions.is_empty() {
                println!("  {label} ({}):", file.motions.len());
            }
            for m in &file.motions {
                let title = m.title.strip_prefix("Mega-Motion: ").unwrap_or(&m.title);
                println!("    {:<50} {}", truncate(title, 48), how(m));
            }
        }
        println!(
            "  outcome: {} ratified, {} rejected, {} deferred → {}",
            r.motions_ratified,
            r.motions_rejected,
            r.motions_deferred,
            report.out.display()
        );
    }
    Ok(Outcome::Complete)
}

/// A title cut to `max` characters, marked with an ellipsis when cut.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if text.chars().count() > max => format!("{}…", &text[..i]),
        _ => text.to_string(),
    }
}

/// How a motion reached its outcome, in a person's words.
fn how(m: &MotionOutcome) -> String {
    let path = match m.review_path {
        Some(ReviewPath::FastTrack) => "fast track",
        Some(ReviewPath::Consensus) => "consensus",
        Some(ReviewPath::PanelPass) => "panel passed it",
        Some(ReviewPath::PanelAmend) => "panel amended it",
        None => "",
    };
    let decided = match (&m.vote, m.decided_at) {
        (Some(v), _) => format!(
            "{path}; vote {} yea, {} nay, {} abstain (needs {})",
            v.yeas, v.nays, v.abstentions, v.threshold_required
        ),
        (None, "panel") => match m
            .reason
            .as_deref()
            .and_then(|r| r.split_once(" recommended "))
        {
            Some((_, rest)) => format!("panel recommended {rest}"),
            None => "decided by its panel".to_string(),
        },
        (None, _) => {
            let r = m.reason.as_deref().unwrap_or("");
            let what = if r.starts_with("Quorum") {
                "quorum not met"
            } else {
                "neither consensus nor contested"
            };
            let after = if r.contains("after extended review") {
                ", also after extended review"
            } else {
                ""
            };
            format!("{what}{after}")
        }
    };
    let ratified = m.vote.as_ref().is_some_and(|v| v.threshold_met);
    match m.revision_source {
        Some("amendment_synthesis") if ratified => format!("{decided}; revised by synthesis"),
        _ => decided,
    }
}

fn print_triage(ctx: &Context, t: &TriageResults) -> Result<()> {
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(t)?);
        return Ok(());
    }
    let s = &t.summary;
    println!(
        "triage of {}: {} motions: {} low, {} medium, {} high ({} novel proposals flagged)",
        t.session_id,
        s.total_motions,
        s.low_risk,
        s.medium_risk,
        s.high_risk,
        s.novel_proposals_flagged
    );
    for m in &t.motions {
        println!(
            "  {:<6} {:<40} support {:>2}/72 ({:.2})  conflicts {:>2}  gap {:>2}  {}",
            m.risk_tier.as_str(),
            m.mega_motion_id,
            m.contributing_archons.len(),
            m.implicit_support_ratio,
            m.potential_conflicts.len(),
            m.gap_archons.len(),
            m.title
        );
    }
    Ok(())
}
