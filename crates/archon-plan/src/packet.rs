//! The Ratified Intent Packet: one motion's canonical intent, its ratification
//! record, the review's dissent and concerns, and the provenance of every source
//! (`fixtures/…/schemas/ratified-intent-packet.json`, plus `schema_version`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use archon_core::clock::Clock;
use archon_core::input::InputError;
use archon_core::seed::sha256_hex;

use crate::clauses::{parse_clauses, Clause};
use crate::model::{v2, SourceArtifact};
use crate::review_input::{RatifiedMotion, ReviewContext};
use crate::text::{find_marker, snippet};

/// Clause wording that limits HOW the motion may be carried out.
const CONSTRAINT_MARKERS: [&str; 9] = [
    "shall not",
    "must not",
    "may not",
    "will not",
    "prohibit",
    "without",
    "never",
    "while maintaining",
    "except",
];

/// Clause wording that says how success will be seen (deadlines, cadences, reports).
const SIGNAL_MARKERS: [&str; 10] = [
    "within",
    "annual",
    "each cycle",
    "report",
    "audit",
    "month",
    "year",
    " days",
    " hours",
    "%",
];

/// The fields the packet schema (`ratified-intent-packet.json`) requires.
pub const REQUIRED_FIELDS: [&str; 7] = [
    "packet_id",
    "created_at",
    "motion_id",
    "ratified_motion",
    "ratification_record",
    "review_artifacts",
    "provenance",
];

/// Checks a packet read from a file against the packet schema: the required
/// fields (an absent object must not become `null`), objects where the schema
/// wants objects, an RFC 3339 `created_at`, `provenance.source_artifacts`, and a
/// `ratification_record` that says `ratified: true` (only ratified intent is planned).
pub fn validate_packet(source: &str, value: &Value) -> Result<(), InputError> {
    let Some(obj) = value.as_object() else {
        return Err(InputError::new(
            source,
            "$",
            "a Ratified Intent Packet is a JSON object",
        ));
    };
    let missing: Vec<&str> = REQUIRED_FIELDS
        .iter()
        .copied()
        .filter(|f| !obj.contains_key(*f))
        .collect();
    if !missing.is_empty() {
        return Err(InputError::new(
            source,
            "$",
            format!(
                "missing required field(s) of the packet schema: {}",
                missing.join(", ")
            ),
        ));
    }
    for key in [
        "ratified_motion",
        "ratification_record",
        "review_artifacts",
        "provenance",
    ] {
        if !obj[key].is_object() {
            return Err(InputError::new(
                source,
                format!("$.{key}"),
                format!("must be an object, found {}", kind(&obj[key])),
            ));
        }
    }
    if let Err(e) = Clock::fixed_from_rfc3339(obj["created_at"].as_str().unwrap_or("")) {
        return Err(InputError::new(source, "$.created_at", e));
    }
    if !obj["provenance"]["source_artifacts"].is_array() {
        return Err(InputError::new(
            source,
            "$.provenance.source_artifacts",
            "the packet schema requires a list of source artifacts (name, path, sha256)",
        ));
    }
    if obj["ratification_record"].get("ratified") != Some(&Value::Bool(true)) {
        return Err(InputError::new(
            source,
            "$.ratification_record.ratified",
            format!(
                "only a ratified motion is planned: ratified must be true, found {}",
                obj["ratification_record"]
                    .get("ratified")
                    .map_or("nothing".to_string(), |v| v.to_string())
            ),
        ));
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatifiedIntentPacket {
    #[serde(default = "v2")]
    pub schema_version: String,
    pub packet_id: String,
    pub created_at: String,
    pub motion_id: String,
    #[serde(default = "unknown_session")]
    pub session_id: String,
    pub ratified_motion: RatifiedMotionView,
    #[serde(default)]
    pub ratification_record: Value,
    #[serde(default)]
    pub review_artifacts: ReviewContext,
    pub provenance: PacketProvenance,
}

fn unknown_session() -> String {
    "packet".to_string()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RatifiedMotionView {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub theme: String,
    /// The text as ratified (amended text when amendments were applied).
    #[serde(default, alias = "normative_intent")]
    pub canonical_intent: String,
    #[serde(default)]
    pub original_text: String,
    #[serde(default)]
    pub amended_text: Option<String>,
    #[serde(default)]
    pub revision_source: Option<String>,
    #[serde(default)]
    pub constraints: Vec<String>,
    #[serde(default, alias = "success_criteria")]
    pub success_signals: Vec<String>,
    #[serde(default)]
    pub clauses: Vec<Clause>,
    #[serde(default)]
    pub is_constitutional_amendment: bool,
    #[serde(default)]
    pub risk_tier: Option<String>,
    #[serde(default)]
    pub supporting_archons: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PacketProvenance {
    pub source_artifacts: Vec<SourceArtifact>,
    #[serde(default)]
    pub notes: String,
}

impl RatifiedIntentPacket {
    /// Fills what a hand-made or foreign packet may leave out: clauses parsed
    /// from the text, constraints and success signals derived from the clauses.
    pub fn complete(mut self) -> Self {
        let m = &mut self.ratified_motion;
        if m.title.is_empty() {
            m.title = self.motion_id.clone();
        }
        if m.clauses.is_empty() {
            m.clauses = parse_clauses(&m.canonical_intent);
        }
        if m.constraints.is_empty() {
            m.constraints = derive(&m.clauses, &CONSTRAINT_MARKERS);
        }
        if m.success_signals.is_empty() {
            m.success_signals = derive(&m.clauses, &SIGNAL_MARKERS);
        }
        self
    }

    /// The clause with `clause_ref`, if the motion has one.
    pub fn clause(&self, clause_ref: &str) -> Option<&Clause> {
        self.ratified_motion
            .clauses
            .iter()
            .find(|c| c.clause_ref == clause_ref)
    }
}

/// Builds the packet of one ratified motion. `sources` are the review files the
/// packet was built from (name, path, sha256).
pub fn build_packet(
    session_id: &str,
    motion: &RatifiedMotion,
    review: ReviewContext,
    mut sources: Vec<SourceArtifact>,
    created_at: &str,
) -> RatifiedIntentPacket {
    for f in &motion.provenance.source_files {
        sources.push(SourceArtifact {
            name: f.name.clone(),
            path: format!("consolidator/{}", f.name),
            sha256: f.sha256.clone(),
        });
    }
    let amended = motion.revised_text.clone().filter(|t| !t.trim().is_empty());
    let ratification_record = serde_json::json!({
        "ratified": true,
        "vote": motion.vote,
        "amendments_applied": amended.is_some(),
        "revision_source": motion.revision_source,
        "review_path": motion.review_path,
        "ratification_vote_id": motion.provenance.ratification_vote_id,
    });
    let packet = RatifiedIntentPacket {
        schema_version: v2(),
        packet_id: format!(
            "rip-{}",
            &sha256_hex(format!("{session_id}/{}", motion.mega_motion_id))[..12]
        ),
        created_at: created_at.to_string(),
        motion_id: motion.mega_motion_id.clone(),
        session_id: session_id.to_string(),
        ratified_motion: RatifiedMotionView {
            title: motion.title.clone(),
            theme: motion.theme.clone(),
            canonical_intent: motion.final_text.clone(),
            original_text: motion.original_text.clone(),
            amended_text: amended,
            revision_source: motion.revision_source.clone(),
            constraints: Vec::new(),
            success_signals: Vec::new(),
            clauses: Vec::new(),
            is_constitutional_amendment: motion.is_constitutional_amendment,
            risk_tier: motion.risk_tier.clone(),
            supporting_archons: motion.supporting_archons.clone(),
        },
        ratification_record,
        review_artifacts: review,
        provenance: PacketProvenance {
            source_artifacts: sources,
            notes: format!(
                "built by archon plan from the review of session {session_id}; \
                 canonical_intent is the text as ratified"
            ),
        },
    };
    packet.complete()
}

fn derive(clauses: &[Clause], markers: &[&str]) -> Vec<String> {
    clauses
        .iter()
        .filter(|c| find_marker(&c.text, markers).is_some())
        .map(|c| format!("{}: {}", c.clause_ref, snippet(&c.text, 28)))
        .collect()
}
