//! What invalidates a stage's output, computed in one place.
//!
//! A fingerprint is the sha256 of sorted `key=value` lines: the stage, the
//! content hashes of its inputs (by logical name: `mega-motions.json`,
//! `roster`, `upstream`), the seed, the answer source and the options that
//! change what the stage writes. It never holds a path, so a run root moved
//! elsewhere has the same fingerprints, and a stage run from another working
//! directory is recognised as up to date.

use std::collections::BTreeMap;
use std::fmt::Display;

use archon_core::seed::sha256_hex;

/// Where a stage's answers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerSource {
    /// The deterministic simulation: answers are a function of the seed.
    Simulation,
    /// A model, live or replayed from a cassette. A replay counts as the
    /// recording it replays (a replayed run's artifacts equal the recorded
    /// run's byte for byte), so the endpoint is not part of the fingerprint:
    /// the cassette is keyed by each exchange, model included.
    Model,
    /// Hand-written answers (`archon plan`'s inbox); their files are inputs.
    Manual,
}

impl AnswerSource {
    /// The name artifacts record (`mode` fields).
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerSource::Simulation => "simulation",
            AnswerSource::Model => "llm",
            AnswerSource::Manual => "manual",
        }
    }

    /// From the agent port's [`archon_core::agent_port::Agents::mode`].
    pub fn of_mode(mode: &str) -> AnswerSource {
        if mode == "simulation" {
            AnswerSource::Simulation
        } else {
            AnswerSource::Model
        }
    }
}

/// The sha256 of a roster's content (its archons as JSON), the `roster` input
/// of every stage the archons answer in.
pub fn roster_sha256(roster: &archon_core::roster::Roster) -> String {
    sha256_hex(serde_json::to_vec(&roster.archons).unwrap_or_default())
}

/// A stage's input fingerprint, built from named parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    parts: BTreeMap<String, String>,
}

impl Fingerprint {
    pub fn new(stage: &str) -> Fingerprint {
        let mut parts = BTreeMap::new();
        parts.insert("stage".to_string(), stage.to_string());
        Fingerprint { parts }
    }

    /// The seed of every simulated choice (and of the ids a stage mints).
    pub fn seed(self, seed: u64) -> Fingerprint {
        self.option("seed", seed)
    }

    /// Where answers come from.
    pub fn answers(self, source: AnswerSource) -> Fingerprint {
        self.option("answers", source.as_str())
    }

    /// The sha256 of an input's content, under a logical name (a file name
    /// within the stage's inputs, never a path).
    pub fn input(self, name: &str, sha256: impl Into<String>) -> Fingerprint {
        let sha256 = sha256.into();
        self.part(format!("input:{name}"), sha256)
    }

    /// Every `(name, sha256)` of `inputs`.
    pub fn inputs<'a>(
        mut self,
        inputs: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Fingerprint {
        for (name, sha) in inputs {
            self = self.input(name, sha.clone());
        }
        self
    }

    /// An option that changes what the stage writes.
    pub fn option(self, name: &str, value: impl Display) -> Fingerprint {
        self.part(format!("option:{name}"), value.to_string())
    }

    fn part(mut self, key: String, value: String) -> Fingerprint {
        self.parts.insert(key, value);
        self
    }

    /// The sha256 of the parts, in key order.
    pub fn finish(&self) -> String {
        let mut text = String::new();
        for (key, value) in &self.parts {
            text.push_str(key);
            text.push('=');
            // Values are escaped so that no value can forge another line.
            text.push_str(&value.replace('\\', "\\\\").replace('\n', "\\n"));
            text.push('\n');
        }
        sha256_hex(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Fingerprint {
        Fingerprint::new("review")
            .seed(72)
            .answers(AnswerSource::Simulation)
            .input("mega-motions.json", "aa")
    }

    #[test]
    fn order_of_parts_does_not_matter() {
        let other = Fingerprint::new("review")
            .input("mega-motions.json", "aa")
            .answers(AnswerSource::Simulation)
            .seed(72);
        assert_eq!(base().finish(), other.finish());
    }

    #[test]
    fn every_part_changes_it() {
        let b = base().finish();
        assert_ne!(b, base().seed(73).finish());
        assert_ne!(b, base().answers(AnswerSource::Model).finish());
        assert_ne!(b, base().input("mega-motions.json", "ab").finish());
        assert_ne!(b, base().input("roster", "cc").finish());
        assert_ne!(b, base().option("include_novel", true).finish());
        let mut renamed = Fingerprint::new("plan")
            .seed(72)
            .answers(AnswerSource::Simulation);
        renamed = renamed.input("mega-motions.json", "aa");
        assert_ne!(b, renamed.finish());
    }

    #[test]
    fn a_value_cannot_forge_another_part() {
        let forged = Fingerprint::new("x").option("a", "1\noption:b=2");
        let honest = Fingerprint::new("x").option("a", "1").option("b", "2");
        assert_ne!(forged.finish(), honest.finish());
    }

    #[test]
    fn replay_and_recording_share_a_fingerprint() {
        assert_eq!(AnswerSource::of_mode("llm"), AnswerSource::Model);
        assert_eq!(
            AnswerSource::of_mode("simulation"),
            AnswerSource::Simulation
        );
    }
}
