//! `archon review SESSION_DIR`: the Motion Review Pipeline.

use std::collections::BTreeMap;
use std::path::PathBuf;

use archon_agents::CassetteMode;

use anyhow::{Context as _, Result};
use archon_review::pipeline::{MotionOutcome, TriageResults};
use archon_review::ratify::{ReviewPath, SaltSource};
use archon_review::{Env, Facts, LoadOptions, MotionDigest};
use clap::Args;

use archon_pipeline::fingerprint::roster_sha256;
use archon_pipeline::{AnswerSource, Fingerprint, Layout};

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
    let dir = &args.session_dir;
    let texts = archon_review::read_session(dir)
        .with_context(|| format!("reading session {}", dir.display()))?;
    let options = LoadOptions {
        include_novel: args.include_novel,
        allow_unknown_supporters: args.allow_unknown_supporters,
    };
    let session = archon_review::load_session(&texts, &roster, options)
        .with_context(|| format!("invalid session {}", dir.display()))?;
    for w in &session.warnings {
        eprintln!("warning: {w}");
    }
    let facts = Facts::derive(&roster, &session.motions);
    if args.triage_only {
        let triage = archon_review::triage_session(&session, &roster, &facts, &ctx.clock.stamp());
        print_triage(ctx, &triage)?;
        return Ok(Outcome::Complete);
    }
    let responses = match &args.responses {
        Some(d) => Some(
            archon_review::read_responses(d)
                .with_context(|| format!("reading responses {}", d.display()))?,
        ),
        None => None,
    };
    if let Some(set) = &responses {
        for f in &set.ignored_files {
            eprintln!(
                "warning: {}: {f} is not named {} and is ignored",
                set.dir,
                archon_review::io::RESPONSE_FILE_PATTERN
            );
        }
    }
    let agents = ctx.agents()?;
    let digests: Vec<MotionDigest> = session.motions.iter().map(MotionDigest::of).collect();
    if agents.mode() != "simulation" {
        // Fail before asking anyone when the random source is unusable.
        os_random_salt().context("reading the OS random source for ratification salts")?;
    }
    let os_salt = || os_random_salt().unwrap_or_default();
    let secret = match agents.mode() {
        "simulation" => None,
        _ => salt_secret(&ctx.cassette()?)?,
    };
    let env = Env {
        agents: &agents,
        clock: ctx.clock,
        seed: ctx.seed,
        // Simulation stays reproducible; a model's votes are sealed with
        // salts nobody could predict, kept with the recording so that a
        // replay seals the same votes.
        salts: match &secret {
            _ if agents.mode() == "simulation" => SaltSource::Seeded,
            Some(secret) => SaltSource::Keyed(secret),
            None => SaltSource::Drawn(&os_salt),
        },
    };
    let run = archon_review::run(
        &session,
        &roster,
        &facts,
        &digests,
        responses.as_ref(),
        &env,
    )
    .context("invalid review responses")?;
    agents.server_failed()?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Layout::default().review(&session.session_id));
    let mut inputs: BTreeMap<String, String> = session
        .source_files
        .iter()
        .map(|f| (f.name.clone(), f.sha256.clone()))
        .collect();
    inputs.insert("roster".into(), roster_sha256(&roster));
    // Response files decide the outcome as much as the session does.
    for (name, sha) in responses.iter().flat_map(|r| &r.file_hashes) {
        inputs.insert(format!("responses/{name}"), sha.clone());
    }
    // The mode, not the backend: a replay has its recording's input hash.
    let input_hash = Fingerprint::new("review")
        .inputs(&inputs)
        .seed(ctx.seed.0)
        .answers(AnswerSource::of_mode(agents.mode()))
        .option("include_novel", args.include_novel)
        .option("responses", args.responses.is_some())
        .finish();
    archon_review::write_run(&out, &run, input_hash, inputs)?;
    if ctx.global.verbose > 0 {
        for e in &run.events {
            eprintln!(
                "event {} {} {}",
                e.event_type,
                e.attributed_to.join(","),
                e.payload
            );
        }
    }
    if ctx.global.json {
        println!("{}", serde_json::to_string_pretty(&run.result)?);
    } else if ctx.loud() {
        let r = &run.result;
        println!(
            "archon review {} ({} mode, seed {})",
            r.session_id, r.mode, r.seed
        );
        println!(
            "  triage: {} motions: {} low, {} medium, {} high ({} novel proposals in input)",
            run.triage.summary.total_motions,
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
            ("ratified", &run.ratified),
            ("rejected", &run.rejected),
            ("deferred", &run.deferred),
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
            out.display()
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

/// The salt secret kept in the cassette folder: read when there, drawn from
/// the OS and written there when recording. Without a cassette, or replaying
/// a recording made without one, there is none (salts are drawn per vote).
fn salt_secret(cassette: &CassetteMode) -> Result<Option<String>> {
    let (dir, recording) = match cassette {
        CassetteMode::Record(dir) => (dir, true),
        CassetteMode::Replay(dir) => (dir, false),
        CassetteMode::Off => return Ok(None),
    };
    let path = dir.join("ratification_salt_secret");
    match std::fs::read_to_string(&path) {
        Ok(text) => return Ok(Some(text.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && recording => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let secret = format!("{}{}", os_random_salt()?, os_random_salt()?);
    archon_store::write_atomic(&path, secret.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Some(secret))
}

/// 128 bits from the operating system's random source, as hex.
fn os_random_salt() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
