//! Phase 6, ratification: every archon votes on the whole queue with
//! commit-reveal, through two rounds of ballot questions.
//!
//! Commit-reveal: in the commit round each archon gives, per motion, the
//! sha256 (lower-case hex) of `"<vote>:<salt>"`; in the reveal round it gives
//! vote and salt. A reveal whose hash differs from the commitment is rejected,
//! recorded in the vote's `rejected_reveals`, and counted as an abstention, as
//! are missing commitments and reveals (no silent paths).
//!
//! Thresholds: 37 of 72 yeas (simple majority), 48 for constitutional
//! amendments (see [`crate::session::is_constitutional_amendment`]). Deferral:
//! when the threshold is not met and abstentions outnumber yeas and nays
//! together, the chamber has declined to decide: the motion is deferred by
//! procedure rather than rejected. Panel DEFER recommendations and motions
//! without consensus or contest never reach the vote; they are deferred earlier.

use archon_core::agent_port::{Question, SimContext};
use archon_core::seed::sha256_hex;
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

/// The commitment of a vote with a salt.
pub fn commitment(vote: Vote, salt: &str) -> String {
    sha256_hex(format!("{}:{salt}", vote.as_str()))
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Commitment {
    pub mega_motion_id: String,
    pub commitment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Reveal {
    pub mega_motion_id: String,
    pub vote: Vote,
    pub salt: String,
}

#[derive(Debug, Serialize)]
pub struct BallotQuestion<'a> {
    pub ballot_id: &'a str,
    pub phase: &'static str,
    pub items: BallotItems<'a>,
    pub commitments: &'a [Commitment],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommitAnswer {
    pub commitments: Vec<Commitment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RevealAnswer {
    pub reveals: Vec<Reveal>,
}

/// The commit round's question.
pub struct CommitQuestion<'a>(pub BallotQuestion<'a>);
/// The reveal round's question.
pub struct RevealQuestion<'a>(pub BallotQuestion<'a>);

impl Serialize for CommitQuestion<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Serialize for RevealQuestion<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Question for CommitQuestion<'_> {
    type Answer = CommitAnswer;
    const KIND: &'static str = "ratification_commit";
    const TEMPLATE: &'static str = include_str!("ballot.j2");
    fn simulate(&self, ctx: &SimContext<'_>) -> CommitAnswer {
        CommitAnswer {
            commitments: crate::simulate::commitments(&self.0, ctx),
        }
    }
}

impl Question for RevealQuestion<'_> {
    type Answer = RevealAnswer;
    const KIND: &'static str = "ratification_reveal";
    const TEMPLATE: &'static str = include_str!("ballot.j2");
    fn simulate(&self, ctx: &SimContext<'_>) -> RevealAnswer {
        RevealAnswer {
            reveals: crate::simulate::reveals(&self.0, ctx),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedReveal {
    pub archon_id: String,
    /// `reveal_mismatch`, `no_commitment` or `no_reveal`.
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
    pub rejected_reveals: Vec<RejectedReveal>,
    pub outcome: VoteOutcome,
    pub ratified_at: Option<String>,
}

/// What one archon committed and revealed for one motion.
pub enum Ballot {
    Counted(Vote),
    Rejected {
        reason: &'static str,
        detail: Option<String>,
    },
}

/// Checks one archon's reveal against its commitment.
pub fn check_reveal(committed: Option<&str>, revealed: Option<&Reveal>) -> Ballot {
    match (committed, revealed) {
        (None, _) => Ballot::Rejected {
            reason: "no_commitment",
            detail: None,
        },
        (Some(_), None) => Ballot::Rejected {
            reason: "no_reveal",
            detail: None,
        },
        (Some(c), Some(r)) if commitment(r.vote, &r.salt) == c => Ballot::Counted(r.vote),
        (Some(c), Some(r)) => Ballot::Rejected {
            reason: "reveal_mismatch",
            detail: Some(format!(
                "revealed {} with salt {:?}, which does not hash to the commitment {c}",
                r.vote.as_str(),
                r.salt
            )),
        },
    }
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

    #[test]
    fn commit_reveal_mismatch_is_rejected() {
        let c = commitment(Vote::Yea, "s1");
        let ok = Reveal {
            mega_motion_id: "m".into(),
            vote: Vote::Yea,
            salt: "s1".into(),
        };
        assert!(matches!(
            check_reveal(Some(&c), Some(&ok)),
            Ballot::Counted(Vote::Yea)
        ));
        let changed = Reveal {
            vote: Vote::Nay,
            ..ok.clone()
        };
        assert!(matches!(
            check_reveal(Some(&c), Some(&changed)),
            Ballot::Rejected {
                reason: "reveal_mismatch",
                ..
            }
        ));
        let other_salt = Reveal {
            salt: "s2".into(),
            ..ok.clone()
        };
        assert!(matches!(
            check_reveal(Some(&c), Some(&other_salt)),
            Ballot::Rejected { .. }
        ));
        assert!(matches!(
            check_reveal(None, Some(&ok)),
            Ballot::Rejected {
                reason: "no_commitment",
                ..
            }
        ));
        assert!(matches!(
            check_reveal(Some(&c), None),
            Ballot::Rejected {
                reason: "no_reveal",
                ..
            }
        ));
    }

    proptest! {
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
