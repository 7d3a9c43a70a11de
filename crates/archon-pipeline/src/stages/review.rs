//! `review`: a consolidator session into a review folder, as one call.

use std::collections::BTreeMap;
use std::path::PathBuf;

use archon_agents::CassetteMode;
use archon_core::agent_port::Agents;
use archon_core::clock::Clock;
use archon_core::roster::Roster;
use archon_review::events::Event;
use archon_review::pipeline::{MotionOutcome, OutcomeFile, PipelineResult, TriageResults};
use archon_review::ratify::{ReviewPath, SaltSource};
use archon_review::responses::ResponseSet;
use archon_review::{Env, Facts, LoadOptions, MotionDigest, Session};

use super::WithContext;
use crate::fingerprint::roster_sha256;
use crate::{AnswerSource, Fingerprint, Layout, PipelineError};

#[derive(Debug, Clone, Default)]
pub struct ReviewOptions {
    /// Consolidator session directory (mega-motions.json, optional novel-proposals.json).
    pub session_dir: PathBuf,
    /// Output directory; default: the default run root's `review/<session_id>/`.
    pub out: Option<PathBuf>,
    /// Turn each novel proposal into a motion.
    pub include_novel: bool,
    /// Review responses to read instead of asking the agents.
    pub responses: Option<PathBuf>,
    /// Supporters missing from the roster become warnings instead of errors.
    pub allow_unknown_supporters: bool,
}

/// A session read and checked, and the responses to use, before anything is asked.
#[derive(Debug)]
pub struct ReviewInput {
    session: Session,
    responses: Option<ResponseSet>,
    /// Problems of the input that do not stop the review.
    pub warnings: Vec<String>,
}

/// What a review wrote, for the caller to print.
#[derive(Debug)]
pub struct ReviewReport {
    pub out: PathBuf,
    pub triage: TriageResults,
    pub result: PipelineResult,
    pub ratified: OutcomeFile,
    pub rejected: OutcomeFile,
    pub deferred: OutcomeFile,
    pub events: Vec<Event>,
}

impl ReviewReport {
    /// The review's outcome as `archon review` prints it.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let r = &self.result;
        let _ = writeln!(
            o,
            "archon review {} ({} mode, seed {})",
            r.session_id, r.mode, r.seed
        );
        let _ = writeln!(
            o,
            "  triage: {} motions: {} low, {} medium, {} high ({} novel proposals in input)",
            self.triage.summary.total_motions,
            r.low_risk_count,
            r.medium_risk_count,
            r.high_risk_count,
            r.novel_proposals_input
        );
        let _ = writeln!(
            o,
            "  reviews: {} assignments, {} valid, {} invalid, {} no response ({:.0}% response rate)",
            r.total_assignments, r.review_responses, r.invalid_submissions, r.no_responses, r.response_rate * 100.0
        );
        let _ = writeln!(
            o,
            "  aggregation: {} amendment syntheses; extended review of {} motions ({} archons asked again); panels convened: {}",
            r.amendment_syntheses, r.extended_reviews, r.extended_review_asked, r.panels_convened
        );
        for (label, file) in [
            ("ratified", &self.ratified),
            ("rejected", &self.rejected),
            ("deferred", &self.deferred),
        ] {
            if !file.motions.is_empty() {
                let _ = writeln!(o, "  {label} ({}):", file.motions.len());
            }
            for m in &file.motions {
                let title = m.title.strip_prefix("Mega-Motion: ").unwrap_or(&m.title);
                let _ = writeln!(o, "    {:<50} {}", truncate(title, 48), how(m));
            }
        }
        let _ = writeln!(
            o,
            "  outcome: {} ratified, {} rejected, {} deferred → {}",
            r.motions_ratified,
            r.motions_rejected,
            r.motions_deferred,
            self.out.display()
        );
        o
    }
}

/// Reads and checks the session (and the responses, when given).
pub fn read_input(opts: &ReviewOptions, roster: &Roster) -> Result<ReviewInput, PipelineError> {
    let dir = &opts.session_dir;
    let texts = archon_review::read_session(dir)
        .context_with(|| format!("reading session {}", dir.display()))?;
    let options = LoadOptions {
        include_novel: opts.include_novel,
        allow_unknown_supporters: opts.allow_unknown_supporters,
    };
    let session = archon_review::load_session(&texts, roster, options)
        .context_with(|| format!("invalid session {}", dir.display()))?;
    let mut warnings: Vec<String> = session.warnings.iter().map(|w| w.to_string()).collect();
    let responses = match &opts.responses {
        Some(d) => Some(
            archon_review::read_responses(d)
                .context_with(|| format!("reading responses {}", d.display()))?,
        ),
        None => None,
    };
    if let Some(set) = &responses {
        for f in &set.ignored_files {
            warnings.push(format!(
                "{}: {f} is not named {} and is ignored",
                set.dir,
                archon_review::io::RESPONSE_FILE_PATTERN
            ));
        }
    }
    Ok(ReviewInput {
        session,
        responses,
        warnings,
    })
}

/// The triage of a session alone: nothing asked, nothing written.
pub fn triage(input: &ReviewInput, roster: &Roster, clock: &Clock) -> TriageResults {
    let facts = Facts::derive(roster, &input.session.motions);
    archon_review::triage_session(&input.session, roster, &facts, &clock.stamp())
}

/// A triage as `archon review --triage-only` prints it, one motion a line.
pub fn render_triage(t: &TriageResults) -> String {
    use std::fmt::Write as _;
    let s = &t.summary;
    let mut o = format!(
        "triage of {}: {} motions: {} low, {} medium, {} high ({} novel proposals flagged)\n",
        t.session_id,
        s.total_motions,
        s.low_risk,
        s.medium_risk,
        s.high_risk,
        s.novel_proposals_flagged
    );
    for m in &t.motions {
        let _ = writeln!(
            o,
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
    o
}

/// The Motion Review Pipeline on a session read by [`read_input`], written
/// to its folder with the input fingerprint. `cassette` keeps a model's salt
/// secret.
pub fn review(
    input: &ReviewInput,
    opts: &ReviewOptions,
    roster: &Roster,
    agents: &Agents,
    clock: &Clock,
    cassette: &CassetteMode,
) -> Result<ReviewReport, PipelineError> {
    let (session, responses) = (&input.session, input.responses.as_ref());
    let facts = Facts::derive(roster, &session.motions);
    let digests: Vec<MotionDigest> = session.motions.iter().map(MotionDigest::of).collect();
    let simulated = agents.mode() == "simulation";
    if !simulated {
        // Fail before asking anyone when the random source is unusable.
        os_random_salt()
            .context_with(|| "reading the OS random source for ratification salts".to_string())?;
    }
    let os_salt = || os_random_salt().unwrap_or_default();
    let secret = match simulated {
        true => None,
        false => salt_secret(cassette)?,
    };
    let seed = agents.seed();
    let env = Env {
        agents,
        clock: *clock,
        seed,
        // Simulation stays reproducible; a model's votes are sealed with
        // salts nobody could predict, kept with the recording so that a
        // replay seals the same votes.
        salts: match &secret {
            _ if simulated => SaltSource::Seeded,
            Some(secret) => SaltSource::Keyed(secret),
            None => SaltSource::Drawn(&os_salt),
        },
    };
    let run = archon_review::run(session, roster, &facts, &digests, responses, &env)
        .context_with(|| "invalid review responses".to_string())?;
    // Votes the server failed to give are not sealed into a review.
    agents.server_failed()?;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| Layout::default().review(&session.session_id));
    let mut inputs: BTreeMap<String, String> = session
        .source_files
        .iter()
        .map(|f| (f.name.clone(), f.sha256.clone()))
        .collect();
    inputs.insert("roster".into(), roster_sha256(roster));
    // Response files decide the outcome as much as the session does.
    for (name, sha) in responses.iter().flat_map(|r| &r.file_hashes) {
        inputs.insert(format!("responses/{name}"), sha.clone());
    }
    // The mode, not the backend: a replay has its recording's input hash.
    let input_hash = Fingerprint::new("review")
        .inputs(&inputs)
        .seed(seed.0)
        .answers(AnswerSource::of_mode(agents.mode()))
        .option("include_novel", opts.include_novel)
        .option("responses", opts.responses.is_some())
        .finish();
    archon_review::write_run(&out, &run, input_hash, inputs)?;
    Ok(ReviewReport {
        out,
        triage: run.triage,
        result: run.result,
        ratified: run.ratified,
        rejected: run.rejected,
        deferred: run.deferred,
        events: run.events,
    })
}

/// The salt secret kept in the cassette folder: read when there, drawn from
/// the OS and written there when recording. Without a cassette, or replaying
/// a recording made without one, there is none (salts are drawn per vote).
fn salt_secret(cassette: &CassetteMode) -> Result<Option<String>, PipelineError> {
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
        Err(e) => return Err(e).context_with(|| format!("reading {}", path.display())),
    }
    let urandom = |e| PipelineError::io("/dev/urandom", e);
    let secret = format!(
        "{}{}",
        os_random_salt().map_err(urandom)?,
        os_random_salt().map_err(urandom)?
    );
    archon_store::write_atomic(&path, secret.as_bytes())
        .context_with(|| format!("writing {}", path.display()))?;
    Ok(Some(secret))
}

/// 128 bits from the operating system's random source, as hex.
fn os_random_salt() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::test_support::{clock, reviewed, roster};

    #[test]
    fn a_review_does_not_depend_on_where_it_is_written() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let run = |out: &str| reviewed(tmp.path(), &tmp.path().join(out));
        let (a, b) = (run("a"), run("b/c"));
        let ratified = format!("  outcome: {} ratified, ", a.result.motions_ratified);
        assert!(a.render().contains(&ratified), "{}", a.render());
        assert_eq!(a.out, tmp.path().join("a"));
        assert_eq!(a.result.motions_ratified, b.result.motions_ratified);
        for file in ["stage_manifest.json", "ratified_motions.json"] {
            let read = |r: &ReviewReport| std::fs::read(r.out.join(file)).expect(file);
            assert_eq!(read(&a), read(&b), "{file}");
        }
    }

    #[test]
    fn triage_writes_nothing_and_a_missing_session_is_named() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let opts = ReviewOptions {
            session_dir: tmp.path().join("nowhere"),
            ..ReviewOptions::default()
        };
        let err = read_input(&opts, &roster()).expect_err("no session");
        assert!(err.to_string().starts_with("reading session "), "{err}");
        assert_eq!(err.kind(), crate::error::ErrorKind::BadInput);
        let session_dir =
            crate::chain::write_example_session(&Layout::new(tmp.path())).expect("session");
        let before = std::fs::read_dir(tmp.path()).expect("dir").count();
        let opts = ReviewOptions {
            session_dir,
            ..ReviewOptions::default()
        };
        let input = read_input(&opts, &roster()).expect("input");
        let t = triage(&input, &roster(), &clock());
        assert!(t.summary.total_motions > 0);
        let text = render_triage(&t);
        assert_eq!(text.lines().count(), 1 + t.motions.len(), "{text}");
        assert_eq!(std::fs::read_dir(tmp.path()).expect("dir").count(), before);
    }
}
