//! Phase 6, ratification: every archon votes on the whole queue in one
//! ballot question, and the engine seals the votes with commit-reveal.
//!
//! Commit-reveal is the engine's, not the model's: a model is asked only for a
//! vote and a reason per motion. The engine draws a salt per (archon, motion)
//! (from the seed in simulation, from the operating system's random source
//! otherwise), commits `sha256("<vote>|<salt>|<archon id>|<motion id>")` for
//! every vote before any is revealed (the `ratification_committed` event lists
//! them), then reveals and counts. Every commitment, salt and vote is written
//! to `ratification_results.json`, so [`verify_recorded`] (`archon verify`) can
//! recompute each commitment and each tally afterwards. An archon whose ballot
//! has no valid vote for a motion is recorded in `rejected_reveals`
//! (`no_vote`) and counted as an abstention (no silent paths).
//!
//! Thresholds: 37 of 72 yeas (simple majority), 48 for constitutional
//! amendments (see [`crate::session::is_constitutional_amendment`]). Deferral:
//! when the threshold is not met and abstentions outnumber yeas and nays
//! together, the chamber has declined to decide: the motion is deferred by
//! procedure rather than rejected. Panels without a pass or amend majority,
//! and motions without consensus (or quorum) or contest after extended review,
//! never reach the vote; they are deferred earlier, with the reason.

use archon_core::agent_port::{Question, SimContext};
use archon_core::seed::{sha256_hex, Seed};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::facts::Facts;

pub const SIMPLE_MAJORITY: usize = 37;
pub const SUPERMAJORITY: usize = 48;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReviewPath {
    FastTrack,
    Consensus,
    PanelPass,
    PanelAmend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Vote {
    Yea,
    Nay,
    Abstain,
}

impl Vote {
    pub fn as_str(self) -> &'static str {
        match self {
            Vote::Yea => "yea",
            Vote::Nay => "nay",
            Vote::Abstain => "abstain",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VoteOutcome {
    Ratified,
    Rejected,
    Deferred,
}

/// The commitment of a vote: sha256 of `"<vote>|<salt>|<archon>|<motion>"`, lower-case hex.
pub fn commitment(vote: Vote, salt: &str, archon_id: &str, motion_id: &str) -> String {
    sha256_hex(format!("{}|{salt}|{archon_id}|{motion_id}", vote.as_str()))
}

/// Where the engine's salts come from.
pub enum SaltSource<'a> {
    /// Drawn from the run seed: simulation stays reproducible.
    Seeded,
    /// Drawn from a random source (the CLI passes the operating system's).
    Drawn(&'a (dyn Fn() -> String + Sync)),
    /// Keyed by a secret drawn once from a random source and kept with the
    /// run's recorded answers: unpredictable to the voters, and a replay of the
    /// recording seals the same votes.
    Keyed(&'a str),
}

impl SaltSource<'_> {
    pub fn draw(&self, seed: Seed, archon_id: &str, motion_id: &str) -> String {
        match self {
            SaltSource::Seeded => seed
                .uuid(&["ratification-salt", archon_id, motion_id])
                .simple()
                .to_string(),
            SaltSource::Drawn(f) => f(),
            SaltSource::Keyed(secret) => {
                let mut salt = sha256_hex(format!("{secret}|{archon_id}|{motion_id}"));
                salt.truncate(32);
                salt
            }
        }
    }

    /// As recorded in `ratification_results.json`.
    pub fn name(&self) -> &'static str {
        match self {
            SaltSource::Seeded => "seed",
            SaltSource::Drawn(_) => "os_random",
            SaltSource::Keyed(_) => "os_random_recorded",
        }
    }
}

/// Threshold and outcome of a count (rules in the module doc).
pub fn decide(
    yeas: usize,
    nays: usize,
    abstentions: usize,
    constitutional: bool,
) -> (&'static str, usize, bool, VoteOutcome) {
    let (kind, required) = if constitutional {
        ("supermajority", SUPERMAJORITY)
    } else {
        ("simple_majority", SIMPLE_MAJORITY)
    };
    let met = yeas >= required;
    let outcome = if met {
        VoteOutcome::Ratified
    } else if abstentions > yeas + nays {
        VoteOutcome::Deferred
    } else {
        VoteOutcome::Rejected
    };
    (kind, required, met, outcome)
}

/// One motion on an archon's ballot, with the archon's own record on it.
#[derive(Debug, Clone, Serialize)]
pub struct BallotItem<'a> {
    pub mega_motion_id: &'a str,
    pub title: &'a str,
    pub theme: &'a str,
    pub text: &'a str,
    pub review_path: ReviewPath,
    pub threshold_required: usize,
    /// "contributor", a review stance, "no_response" or "not_assigned".
    pub your_record: &'static str,
    pub touched_red_lines: Vec<&'a str>,
    /// Whether review synthesis or a panel revised the text.
    pub revised: bool,
    /// The archon's affinity to the motion (simulation only; not in the prompt).
    #[serde(skip)]
    pub affinity: f64,
}

/// One motion of the ratification queue, as every ballot shows it.
#[derive(Debug, Clone)]
pub struct QueuedMotion<'a> {
    /// Index of the motion in the session.
    pub motion: usize,
    pub mega_motion_id: &'a str,
    pub title: &'a str,
    pub theme: &'a str,
    pub text: &'a str,
    pub review_path: ReviewPath,
    pub threshold_required: usize,
    pub revised: bool,
}

/// An archon's items: the shared queue seen with the archon's own records.
/// Items are made on demand (for the prompt, or the simulated answer), so
/// the queue is held once, not once per archon.
#[derive(Clone, Copy)]
pub struct BallotItems<'a> {
    pub archon: usize,
    pub queue: &'a [QueuedMotion<'a>],
    /// The archon's own record on a motion: `(archon, motion)` → record.
    pub record: &'a (dyn Fn(usize, usize) -> &'static str + Sync),
    pub facts: &'a Facts,
}

impl<'a> BallotItems<'a> {
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The item at queue position `k` (`k < len()`).
    pub fn item(&self, k: usize) -> Option<BallotItem<'a>> {
        let q = self.queue.get(k)?;
        Some(BallotItem {
            mega_motion_id: q.mega_motion_id,
            title: q.title,
            theme: q.theme,
            text: q.text,
            review_path: q.review_path,
            threshold_required: q.threshold_required,
            your_record: (self.record)(self.archon, q.motion),
            touched_red_lines: self.facts.touched(self.archon, q.motion),
            revised: q.revised,
            affinity: self.facts.affinity(self.archon, q.motion),
        })
    }
}

impl Serialize for BallotItems<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((0..self.len()).filter_map(|k| self.item(k)))
    }
}

impl std::fmt::Debug for BallotItems<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BallotItems(archon {}, {} motions)",
            self.archon,
            self.len()
        )
    }
}

#[derive(Debug, Serialize)]
pub struct BallotQuestion<'a> {
    pub ballot_id: &'a str,
    pub items: BallotItems<'a>,
}

/// An archon's vote on the motion of the same ballot position, as the model
/// gives it: the engine knows the motion ids, so the model never copies one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BallotChoice {
    pub vote: Vote,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BallotAnswer {
    /// One per motion on the ballot, in the ballot's order.
    #[schemars(extend("x-archon-listed" = true))]
    pub votes: Vec<BallotChoice>,
}

impl Question for BallotQuestion<'_> {
    type Answer = BallotAnswer;
    const KIND: &'static str = "ratification_ballot";
    const TEMPLATE: &'static str = include_str!("ballot.j2");
    fn simulate(&self, ctx: &SimContext<'_>) -> BallotAnswer {
        crate::simulate::ballot(self, ctx)
    }
    /// Votes are matched with the ballot by position: one per motion.
    fn listed_items(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// One archon's sealed vote on one motion: what was committed and revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedVote {
    pub archon_id: String,
    pub vote: Vote,
    pub salt: String,
    pub commitment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedReveal {
    pub archon_id: String,
    /// `no_vote`: the ballot had no valid vote for the motion.
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The spec's `RatificationVote`, with the rejected reveals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatificationVote<'a> {
    pub vote_id: String,
    pub mega_motion_id: String,
    pub mega_motion_title: String,
    pub yeas: usize,
    pub nays: usize,
    pub abstentions: usize,
    pub threshold_type: &'static str,
    pub threshold_required: usize,
    pub threshold_met: bool,
    pub votes_by_archon: BTreeMap<&'a str, &'static str>,
    /// Every archon's commitment, salt and vote, in roster order.
    pub ballots: Vec<SealedVote>,
    pub rejected_reveals: Vec<RejectedReveal>,
    pub outcome: VoteOutcome,
    pub ratified_at: Option<String>,
}

/// What `archon verify` reads back of a recorded vote.
#[derive(Debug, Deserialize)]
pub struct RecordedVote {
    pub mega_motion_id: String,
    pub yeas: usize,
    pub nays: usize,
    pub abstentions: usize,
    pub votes_by_archon: BTreeMap<String, Vote>,
    pub ballots: Vec<SealedVote>,
}

/// `ratification_results.json` as `archon verify` reads it.
#[derive(Debug, Deserialize)]
pub struct RecordedResults {
    pub votes: Vec<RecordedVote>,
}

/// Recomputes every commitment and every tally of recorded votes; the error
/// names the first vote (archon and motion) or tally that does not match.
pub fn verify_recorded(results: &RecordedResults) -> Result<usize, String> {
    let mut checked = 0;
    for v in &results.votes {
        let m = &v.mega_motion_id;
        let (mut yeas, mut nays, mut abstentions) = (0, 0, 0);
        for b in &v.ballots {
            if commitment(b.vote, &b.salt, &b.archon_id, m) != b.commitment {
                return Err(format!(
                    "vote of archon {} on motion {m}: {} with salt {:?} does not hash to the commitment {}",
                    b.archon_id,
                    b.vote.as_str(),
                    b.salt,
                    b.commitment
                ));
            }
            if v.votes_by_archon.get(&b.archon_id) != Some(&b.vote) {
                return Err(format!(
                    "vote of archon {} on motion {m}: votes_by_archon does not record the revealed {}",
                    b.archon_id,
                    b.vote.as_str()
                ));
            }
            match b.vote {
                Vote::Yea => yeas += 1,
                Vote::Nay => nays += 1,
                Vote::Abstain => abstentions += 1,
            }
            checked += 1;
        }
        if v.votes_by_archon.len() != v.ballots.len() {
            return Err(format!(
                "motion {m}: {} votes by archon but {} sealed ballots",
                v.votes_by_archon.len(),
                v.ballots.len()
            ));
        }
        if (yeas, nays, abstentions) != (v.yeas, v.nays, v.abstentions) {
            return Err(format!(
                "motion {m}: the ballots count {yeas} yeas, {nays} nays, {abstentions} abstentions; recorded {} / {} / {}",
                v.yeas, v.nays, v.abstentions
            ));
        }
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn thresholds() {
        assert_eq!(
            decide(37, 35, 0, false),
            ("simple_majority", 37, true, VoteOutcome::Ratified)
        );
        assert_eq!(decide(36, 36, 0, false).3, VoteOutcome::Rejected);
        assert_eq!(
            decide(48, 24, 0, true),
            ("supermajority", 48, true, VoteOutcome::Ratified)
        );
        assert_eq!(decide(47, 25, 0, true).3, VoteOutcome::Rejected);
        assert_eq!(decide(20, 10, 42, false).3, VoteOutcome::Deferred);
        assert_eq!(decide(20, 16, 36, false).3, VoteOutcome::Rejected);
    }

    fn sealed(archon: &str, vote: Vote, salt: &str) -> SealedVote {
        SealedVote {
            archon_id: archon.into(),
            vote,
            salt: salt.into(),
            commitment: commitment(vote, salt, archon, "m"),
        }
    }

    fn recorded(ballots: Vec<SealedVote>) -> RecordedResults {
        let count = |k| ballots.iter().filter(|b| b.vote == k).count();
        RecordedResults {
            votes: vec![RecordedVote {
                mega_motion_id: "m".into(),
                yeas: count(Vote::Yea),
                nays: count(Vote::Nay),
                abstentions: count(Vote::Abstain),
                votes_by_archon: ballots
                    .iter()
                    .map(|b| (b.archon_id.clone(), b.vote))
                    .collect(),
                ballots,
            }],
        }
    }

    #[test]
    fn ballot_template_compiles() {
        archon_core::agent_port::check_template("ballot", BallotQuestion::TEMPLATE).unwrap();
    }

    #[test]
    fn commitments_bind_vote_salt_archon_and_motion() {
        let c = commitment(Vote::Yea, "s1", "a", "m");
        assert_ne!(c, commitment(Vote::Nay, "s1", "a", "m"));
        assert_ne!(c, commitment(Vote::Yea, "s2", "a", "m"));
        assert_ne!(c, commitment(Vote::Yea, "s1", "b", "m"));
        assert_ne!(c, commitment(Vote::Yea, "s1", "a", "n"));
        assert_eq!(c, sha256_hex("yea|s1|a|m"));
    }

    #[test]
    fn verify_names_the_first_vote_that_does_not_match() {
        let good = recorded(vec![
            sealed("a", Vote::Yea, "s1"),
            sealed("b", Vote::Nay, "s2"),
        ]);
        assert_eq!(verify_recorded(&good), Ok(2));
        let mut edited = recorded(vec![
            sealed("a", Vote::Yea, "s1"),
            sealed("b", Vote::Nay, "s2"),
        ]);
        edited.votes[0].ballots[1].vote = Vote::Yea;
        let e = verify_recorded(&edited).unwrap_err();
        assert!(e.contains("archon b on motion m"), "{e}");
        let mut salted = recorded(vec![sealed("a", Vote::Yea, "s1")]);
        salted.votes[0].ballots[0].salt = "s9".into();
        assert!(verify_recorded(&salted)
            .unwrap_err()
            .contains("archon a on motion m"));
        let mut recount = recorded(vec![sealed("a", Vote::Yea, "s1")]);
        recount.votes[0].yeas = 2;
        assert!(verify_recorded(&recount)
            .unwrap_err()
            .contains("ballots count 1 yeas"));
        let mut listed = recorded(vec![sealed("a", Vote::Yea, "s1")]);
        listed.votes[0]
            .votes_by_archon
            .insert("a".into(), Vote::Nay);
        assert!(verify_recorded(&listed)
            .unwrap_err()
            .contains("votes_by_archon"));
    }

    proptest! {
        #[test]
        fn sealed_votes_verify_and_any_edit_is_named(
            votes in proptest::collection::vec((0u8..3, "[0-9a-f]{8}"), 1..20),
            edit in any::<proptest::sample::Index>(),
            change_salt: bool,
        ) {
            let vote = |k: u8| [Vote::Yea, Vote::Nay, Vote::Abstain][k as usize];
            let ballots: Vec<SealedVote> = votes
                .iter()
                .enumerate()
                .map(|(i, (k, salt))| sealed(&format!("a{i}"), vote(*k), salt))
                .collect();
            let mut results = recorded(ballots);
            prop_assert_eq!(verify_recorded(&results), Ok(votes.len()));
            let i = edit.index(votes.len());
            let b = &mut results.votes[0].ballots[i];
            if change_salt {
                b.salt.push('x');
            } else {
                b.vote = if b.vote == Vote::Yea { Vote::Nay } else { Vote::Yea };
            }
            let err = verify_recorded(&results).unwrap_err();
            let named = format!("archon a{i} on motion m");
            prop_assert!(err.contains(&named), "{}", err);
        }

        #[test]
        fn vote_arithmetic(votes in proptest::collection::vec(0u8..3, 72), constitutional: bool) {
            let count = |k| votes.iter().filter(|&&v| v == k).count();
            let (y, n, a) = (count(0), count(1), count(2));
            prop_assert_eq!(y + n + a, 72);
            let (_, required, met, outcome) = decide(y, n, a, constitutional);
            prop_assert_eq!(met, y >= required);
            prop_assert_eq!(met, outcome == VoteOutcome::Ratified);
            // Monotonic: one more yea (from a nay or an abstention) never loses ratification.
            if met && y < 72 {
                let more = if n > 0 { decide(y + 1, n - 1, a, constitutional) } else { decide(y + 1, n, a - 1, constitutional) };
                prop_assert!(more.2);
            }
            // The supermajority is never easier than the simple majority.
            if decide(y, n, a, true).2 { prop_assert!(decide(y, n, a, false).2); }
        }
    }
}
