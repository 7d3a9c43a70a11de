//! What became of a stage's asks: valid at the first try or after re-asks,
//! invalid after every re-ask, or failed in transport. Stages keep their own
//! rules for a missing answer (an abstention, a fallback); the tally lets the
//! caller say honestly how many answers were missing and why, and tell a model
//! that answered badly (blocked) from a server that did not answer (an error).

use std::sync::Mutex;

use serde::Serialize;

use super::lock;
use crate::roster::Archon;

/// How many reasons are kept for the summary.
const KEPT_REASONS: usize = 3;

#[derive(Debug, Default)]
pub struct AnswerTally {
    counts: Mutex<TallyCounts>,
    /// Whether asks after a transport failure fail at once (the CLI's choice:
    /// such a stage ends in an error anyway).
    stop_on_transport_failure: bool,
}

/// The counts of an [`AnswerTally`], per ask (not per call).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TallyCounts {
    pub valid_first_try: u64,
    pub valid_after_reask: u64,
    /// No valid answer after every re-ask.
    pub invalid: u64,
    /// No answer: the transport failed.
    pub failed: u64,
    /// Re-asks sent (calls beyond the first per ask).
    pub reasks: u64,
    /// The first reasons an answer was invalid ("Archon: reason").
    pub first_invalid_reasons: Vec<String>,
    /// The first transport failure.
    pub first_failure: Option<String>,
}

impl TallyCounts {
    pub fn asks(&self) -> u64 {
        self.valid_first_try + self.valid_after_reask + self.invalid + self.failed
    }

    /// More than half of the answered asks had no valid answer.
    pub fn mostly_invalid(&self) -> bool {
        let answered = self.asks() - self.failed;
        answered > 0 && self.invalid * 2 > answered
    }

    /// `N asked: N valid at the first try, N after re-asks (N re-asks), N invalid, N failed`.
    pub fn line(&self) -> String {
        format!(
            "{} asked: {} valid at the first try, {} after a re-ask ({} re-ask(s)), {} invalid, {} failed",
            self.asks(),
            self.valid_first_try,
            self.valid_after_reask,
            self.reasks,
            self.invalid,
            self.failed
        )
    }
}

impl AnswerTally {
    /// A tally whose port stops asking after the first transport failure.
    pub fn stopping_on_transport_failure() -> AnswerTally {
        AnswerTally {
            stop_on_transport_failure: true,
            ..AnswerTally::default()
        }
    }

    pub fn counts(&self) -> TallyCounts {
        lock(&self.counts).clone()
    }

    /// Takes the counts so far (each stage of a run reports its own).
    pub fn take(&self) -> TallyCounts {
        std::mem::take(&mut *lock(&self.counts))
    }

    pub fn transport_failure(&self) -> Option<String> {
        lock(&self.counts).first_failure.clone()
    }

    pub(crate) fn stops_on_transport_failure(&self) -> bool {
        self.stop_on_transport_failure
    }

    pub(crate) fn valid(&self, attempt: u32) {
        let mut c = lock(&self.counts);
        match attempt {
            0 => c.valid_first_try += 1,
            _ => c.valid_after_reask += 1,
        }
    }

    pub(crate) fn reasked(&self) {
        lock(&self.counts).reasks += 1;
    }

    pub(crate) fn invalid(&self, archon: &Archon, reason: &str) {
        let mut c = lock(&self.counts);
        c.invalid += 1;
        if c.first_invalid_reasons.len() < KEPT_REASONS {
            let reason = super::answer::cut(reason, 300);
            c.first_invalid_reasons
                .push(format!("{}: {reason}", archon.name));
        }
    }

    pub(crate) fn failed(&self, reason: &str) {
        let mut c = lock(&self.counts);
        c.failed += 1;
        if c.first_failure.is_none() {
            c.first_failure = Some(reason.to_string());
        }
    }
}
