//! The three gates: Completeness, Visibility and Legibility (the spec's seven
//! rules made exact — `schema_version` present and known at every versioned
//! level, TTLs as ISO 8601 durations — plus owners of the roster, unique package
//! ids, non-empty claim types, and the v1 rules for converted v1 contributions). Plans may PASS with deferred
//! blockers: blockers must be legible, not gone.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::legacy::V1Finding;
use crate::model::{
    v2, Blocker, BlockerClass, Disposition, Epic, PortfolioResponse, WorkPackage, FORBIDDEN_FIELDS,
    KNOWN_SCHEMA_VERSIONS,
};

/// The arrays whose items the spec versions on their own (`schema_version` in
/// each blocker, work package, epic and discovery task stub).
const VERSIONED_ARRAYS: [&str; 4] = ["blockers", "work_packages", "epics", "discovery_task_stubs"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateFailure {
    pub rule: String,
    pub artifact: String,
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for GateFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] {}: {}: {}",
            self.rule, self.artifact, self.path, self.message
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// `PASS` or `FAIL`.
    pub status: String,
    pub failures: Vec<GateFailure>,
}

impl Gate {
    fn of(failures: Vec<GateFailure>) -> Gate {
        Gate {
            status: if failures.is_empty() { "PASS" } else { "FAIL" }.into(),
            failures,
        }
    }

    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// `executive_gates.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateReport {
    pub schema_version: String,
    pub cycle_id: String,
    pub motion_id: String,
    /// `2.0`, or `1.x (converted)` when v1 contributions were converted.
    pub validation_rules: String,
    pub completeness: Gate,
    pub visibility: Gate,
    pub legibility: Gate,
    pub all_passed: bool,
    pub evaluated_at: String,
}

impl GateReport {
    pub fn failures(&self) -> impl Iterator<Item = (&'static str, &GateFailure)> {
        self.completeness
            .failures
            .iter()
            .map(|f| ("completeness", f))
            .chain(self.visibility.failures.iter().map(|f| ("visibility", f)))
            .chain(self.legibility.failures.iter().map(|f| ("legibility", f)))
    }
}

pub struct GateInput<'a> {
    pub cycle_id: &'a str,
    pub motion_id: &'a str,
    pub affected: &'a [String],
    pub responses: &'a [PortfolioResponse],
    /// The plan's blockers, as dispositioned (artifact `execution_plan_v2.json`).
    pub blockers: &'a [Blocker],
    pub epics: &'a [Epic],
    /// Every artifact of the cycle: relative path and JSON.
    pub artifacts: &'a [(String, Value)],
    pub v1_findings: &'a [(String, V1Finding)],
    /// The plan's work packages (artifact `execution_plan_v2.json`).
    pub work_packages: &'a [WorkPackage],
    /// Every portfolio id of the roster: owners must be among them.
    pub known_portfolios: &'a BTreeSet<String>,
    pub evaluated_at: &'a str,
}

const PLAN: &str = "execution_plan_v2.json";

pub fn evaluate(input: &GateInput<'_>) -> GateReport {
    let completeness = Gate::of(completeness(input));
    let visibility = Gate::of(visibility(input));
    let legibility = Gate::of(legibility(input));
    GateReport {
        schema_version: v2(),
        cycle_id: input.cycle_id.into(),
        motion_id: input.motion_id.into(),
        validation_rules: if input.v1_findings.is_empty()
            && !input.responses.iter().any(|r| matches!(r, PortfolioResponse::Contribution(c) if c.extra.contains_key("converted_from_schema_version")))
        {
            "2.0".into()
        } else {
            "2.0 with v1 rules for converted v1 contributions".into()
        },
        all_passed: completeness.passed() && visibility.passed() && legibility.passed(),
        completeness,
        visibility,
        legibility,
        evaluated_at: input.evaluated_at.into(),
    }
}

fn failure(rule: &str, artifact: &str, path: &str, message: String) -> GateFailure {
    GateFailure {
        rule: rule.into(),
        artifact: artifact.into(),
        path: path.into(),
        message,
    }
}

fn completeness(input: &GateInput<'_>) -> Vec<GateFailure> {
    input
        .affected
        .iter()
        .filter_map(
            |pid| match input.responses.iter().find(|r| r.portfolio_id() == pid) {
                None => Some(failure(
                    "completeness",
                    "contributions/",
                    "$",
                    format!("{pid} gave neither a contribution nor an attestation"),
                )),
                Some(r @ PortfolioResponse::Attestation(a)) if a.fallback => Some(failure(
                    "completeness",
                    &r.artifact_path(),
                    "$.fallback",
                    format!("{pid} has only a fallback attestation: {}", a.reason),
                )),
                Some(_) => None,
            },
        )
        .collect()
}

fn visibility(input: &GateInput<'_>) -> Vec<GateFailure> {
    input
        .responses
        .iter()
        .filter(|r| r.capacity_claim().is_none())
        .map(|r| {
            failure(
                "visibility",
                &r.artifact_path(),
                "$.capacity_claim",
                format!("{} response has no capacity_claim", r.portfolio_id()),
            )
        })
        .collect()
}

fn legibility(input: &GateInput<'_>) -> Vec<GateFailure> {
    let mut out = Vec::new();
    // Rule 1: schema version present and known, at every versioned level.
    for (name, v) in input.artifacts {
        out.extend(schema_versions(name, v));
    }
    for (i, b) in input.blockers.iter().enumerate() {
        out.extend(blocker_rules(
            b,
            &format!("$.blockers[{i}]"),
            input.artifacts,
        ));
    }
    // Rule 6: epic traceability.
    for (i, e) in input.epics.iter().enumerate() {
        let mut missing = Vec::new();
        if e.mapped_motion_clauses.is_empty() {
            missing.push("mapped_motion_clauses");
        }
        if e.success_signals.is_empty() {
            missing.push("success_signals");
        }
        if !missing.is_empty() {
            out.push(failure(
                "epic_traceability",
                PLAN,
                &format!("$.epics[{i}]"),
                format!(
                    "epic {} needs at least one of each: {}",
                    e.epic_id,
                    missing.join(", ")
                ),
            ));
        }
    }
    // Rule 7: no forbidden fields, at any depth.
    for (name, v) in input.artifacts {
        forbidden_fields(v, "$".into(), &mut |path, keys| {
            out.push(failure(
                "forbidden_fields",
                name,
                &path,
                format!(
                    "forbidden field(s) {}: story points, estimates, hours, FR/NFR and detailed requirements are Administration's",
                    keys.join(", ")
                ),
            ))
        });
    }
    for (i, b) in input.blockers.iter().enumerate() {
        if let Some(owner) = b
            .owner_portfolio_id
            .as_deref()
            .filter(|o| !o.trim().is_empty())
        {
            if !input.known_portfolios.contains(owner) {
                out.push(failure(
                    "owner_in_roster",
                    PLAN,
                    &format!("$.blockers[{i}].owner_portfolio_id"),
                    format!(
                        "blocker {} is owned by {owner:?}, which is no portfolio of the roster",
                        b.id_or_unnamed()
                    ),
                ));
            }
        }
    }
    out.extend(work_package_rules(
        input.work_packages,
        input.known_portfolios,
    ));
    for r in input.responses {
        if let Some(c) = r.capacity_claim() {
            if c.claim_type.trim().is_empty() {
                out.push(failure(
                    "capacity_claim_type",
                    &r.artifact_path(),
                    "$.capacity_claim.claim_type",
                    format!(
                        "{} capacity claim has an empty claim_type (COARSE or NONE)",
                        r.portfolio_id()
                    ),
                ));
            }
        }
    }
    for (source, f) in input.v1_findings {
        out.push(failure(f.rule, source, &f.path, f.message.clone()));
    }
    out
}

/// `schema_version` of an artifact and of each item of its versioned arrays.
fn schema_versions(name: &str, v: &Value) -> Vec<GateFailure> {
    let mut out = Vec::new();
    let mut check = |item: &Value, path: String| {
        let at = format!("{path}.schema_version");
        match item.get("schema_version").and_then(Value::as_str) {
            None | Some("") => out.push(failure(
                "schema_version",
                name,
                &at,
                "no schema_version".into(),
            )),
            Some(s) if !KNOWN_SCHEMA_VERSIONS.contains(&s) => out.push(failure(
                "schema_version",
                name,
                &at,
                format!(
                    "unknown schema_version {s:?} (known: {})",
                    KNOWN_SCHEMA_VERSIONS.join(", ")
                ),
            )),
            Some(_) => {}
        }
    };
    check(v, "$".into());
    for key in VERSIONED_ARRAYS {
        for (i, item) in v
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            check(item, format!("$.{key}[{i}]"));
        }
    }
    out
}

/// Every package has an owner of the roster and an id no other package uses.
fn work_package_rules(packages: &[WorkPackage], known: &BTreeSet<String>) -> Vec<GateFailure> {
    let mut out = Vec::new();
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, p) in packages.iter().enumerate() {
        let at = format!("$.work_packages[{i}]");
        if p.portfolio_id.trim().is_empty() {
            out.push(failure(
                "work_package_owner",
                PLAN,
                &format!("{at}.portfolio_id"),
                format!("work package {} has no portfolio_id", p.package_id),
            ));
        } else if !known.contains(&p.portfolio_id) {
            out.push(failure(
                "work_package_owner",
                PLAN,
                &format!("{at}.portfolio_id"),
                format!(
                    "work package {} belongs to {:?}, which is no portfolio of the roster",
                    p.package_id, p.portfolio_id
                ),
            ));
        }
        if let Some(j) = first.get(p.package_id.as_str()) {
            out.push(failure(
                "unique_package_id",
                PLAN,
                &format!("{at}.package_id"),
                format!(
                    "package id {:?} is already used by $.work_packages[{j}]",
                    p.package_id
                ),
            ));
        } else {
            first.insert(&p.package_id, i);
        }
    }
    out
}

/// Whether `s` is an ISO 8601 duration: `P[nY][nM][nW][nD][T[nH][nM][nS]]`,
/// at least one part, the last number of the seconds possibly fractional.
pub fn is_iso8601_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return false,
        None => (rest, None),
    };
    let parts = |text: &str, units: &str, fraction: bool| -> Option<usize> {
        let mut count = 0;
        let mut allowed = units;
        let mut number = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() || (fraction && c == '.' && !number.contains('.')) {
                number.push(c);
                continue;
            }
            let at = allowed.find(c)?;
            if number.is_empty() || number.ends_with('.') {
                return None;
            }
            allowed = &allowed[at + 1..];
            number.clear();
            count += 1;
        }
        number.is_empty().then_some(count)
    };
    match (
        parts(date, "YMWD", false),
        time.map(|t| parts(t, "HMS", true)),
    ) {
        (Some(d), None) => d > 0,
        (Some(_), Some(Some(t))) => t > 0,
        _ => false,
    }
}

/// Rules 2 to 5 for one blocker.
pub fn blocker_rules(b: &Blocker, path: &str, artifacts: &[(String, Value)]) -> Vec<GateFailure> {
    let mut out = Vec::new();
    let id = b.id_or_unnamed();
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    let mut missing = Vec::new();
    for (field, absent) in [
        ("id", blank(&b.id)),
        ("blocker_class", b.blocker_class.is_none()),
        ("severity", b.severity.is_none()),
        ("description", blank(&b.description)),
        ("owner_portfolio_id", blank(&b.owner_portfolio_id)),
        ("disposition", b.disposition.is_none()),
        ("ttl", blank(&b.ttl)),
        (
            "escalation_conditions",
            b.escalation_conditions
                .as_ref()
                .is_none_or(|e| e.is_empty()),
        ),
    ] {
        if absent {
            missing.push(field);
        }
    }
    if !missing.is_empty() {
        out.push(failure(
            "blocker_completeness",
            PLAN,
            path,
            format!(
                "blocker {id} is missing required field(s): {}",
                missing.join(", ")
            ),
        ));
    }
    if let Some(ttl) = b.ttl.as_deref().filter(|t| !t.trim().is_empty()) {
        if !is_iso8601_duration(ttl) {
            out.push(failure(
                "ttl_duration",
                PLAN,
                &format!("{path}.ttl"),
                format!("blocker {id} has ttl {ttl:?}, which is no ISO 8601 duration (such as P14D or PT36H)"),
            ));
        }
    }
    let emitted = |dir: &str, key: &str| {
        artifacts.iter().any(|(name, v)| {
            name.starts_with(dir)
                && b.id.is_some()
                && v.get(key).and_then(Value::as_str) == b.id.as_deref()
        })
    };
    match (b.blocker_class, b.disposition) {
        (Some(BlockerClass::IntentAmbiguity), Some(d)) if d != Disposition::EscalateNow => out.push(failure(
            "intent_ambiguity",
            PLAN,
            &format!("{path}.disposition"),
            format!("blocker {id} is INTENT_AMBIGUITY, so its disposition must be ESCALATE_NOW, not {}", d.as_str()),
        )),
        (Some(BlockerClass::IntentAmbiguity), Some(_)) if !emitted("conclave_queue_items/", "blocker_id") => out.push(failure(
            "intent_ambiguity",
            PLAN,
            path,
            format!("blocker {id} is escalated but no conclave_queue_item.json was emitted for it"),
        )),
        (Some(c), Some(Disposition::EscalateNow)) if c != BlockerClass::IntentAmbiguity => out.push(failure(
            "intent_ambiguity",
            PLAN,
            &format!("{path}.disposition"),
            format!("blocker {id} is {}: ESCALATE_NOW is only for INTENT_AMBIGUITY (mitigate or defer it)", c.as_str()),
        )),
        _ => {}
    }
    if b.disposition == Some(Disposition::DeferDownstream) {
        if b.verification_tasks.is_empty() {
            out.push(failure(
                "defer_downstream",
                PLAN,
                &format!("{path}.verification_tasks"),
                format!("blocker {id} is DEFER_DOWNSTREAM without verification_tasks"),
            ));
        } else if !emitted("discovery_task_stubs/", "origin_blocker_id") {
            out.push(failure(
                "defer_downstream",
                PLAN,
                path,
                format!("blocker {id} is DEFER_DOWNSTREAM but no discovery_task_stub.json was emitted for it"),
            ));
        }
    }
    if b.disposition == Some(Disposition::MitigateInExecutive) && blank(&b.mitigation_notes) {
        out.push(failure(
            "mitigation",
            PLAN,
            &format!("{path}.mitigation_notes"),
            format!("blocker {id} is MITIGATE_IN_EXECUTIVE without mitigation_notes"),
        ));
    }
    out
}

/// Calls `found(path, keys)` once per object holding forbidden keys, naming all of them.
pub fn forbidden_fields(v: &Value, path: String, found: &mut dyn FnMut(String, Vec<String>)) {
    match v {
        Value::Object(map) => {
            let keys: Vec<String> = map
                .keys()
                .filter(|k| FORBIDDEN_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(k)))
                .cloned()
                .collect();
            if !keys.is_empty() {
                found(path.clone(), keys);
            }
            for (k, item) in map {
                forbidden_fields(item, format!("{path}.{k}"), found);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                forbidden_fields(item, format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}
