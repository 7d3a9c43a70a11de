//! Manual mode: an inbox of `contribution_<portfolio>.json` /
//! `attestation_<portfolio>.json` written by hand, and `--scaffold-inbox`
//! templates. Templates, `TODO:` placeholders, cycle, motion or identity
//! mismatches, unknown portfolios, file names that match no affected portfolio
//! and work packages without their portfolio are refused with a message naming
//! the file.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use archon_core::input::{from_value, parse_json, InputError};
use archon_core::roster::Archon;

use crate::assignment::known_portfolio;
use crate::drafting::{fallback_attestation, identity, package_prefix};
use crate::error::PlanError;
use crate::legacy::{convert_contribution, is_v1, V1Finding};
use crate::model::{NoActionAttestation, PortfolioContribution, PortfolioResponse};

/// Marker of an unedited scaffold.
pub const TEMPLATE_MARKER: &str = "template";
/// Placeholder text that must be replaced before a file is accepted.
pub const TODO: &str = "TODO:";

/// One file of the inbox: its name and text.
#[derive(Debug, Clone)]
pub struct InboxFile {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Contribution,
    Attestation,
}

fn classify(name: &str) -> Option<(Kind, &str)> {
    let stem = name.strip_suffix(".json")?;
    if let Some(p) = stem.strip_prefix("contribution_") {
        return Some((Kind::Contribution, p));
    }
    stem.strip_prefix("attestation_")
        .map(|p| (Kind::Attestation, p))
}

/// Whether the inbox holds any file (for `--mode auto`): a misnamed one is
/// then refused by [`load_inbox`] rather than silently replaced by agents.
pub fn has_responses(files: &[InboxFile]) -> bool {
    !files.is_empty()
}

/// The file names an inbox may hold for these portfolios.
pub fn expected_names(affected: &[String]) -> Vec<String> {
    affected
        .iter()
        .flat_map(|p| {
            [
                format!("contribution_{p}.json"),
                format!("attestation_{p}.json"),
            ]
        })
        .collect()
}

/// What the inbox gave: one response per affected portfolio (fallbacks for the
/// missing ones) and the v1 rule findings of converted v1 files, by file.
pub struct InboxLoad {
    pub responses: Vec<PortfolioResponse>,
    pub v1_findings: Vec<(String, V1Finding)>,
    /// Portfolios without a file: they got a fallback attestation.
    pub missing: Vec<String>,
}

pub fn load_inbox(
    files: &[InboxFile],
    inbox_label: &str,
    cycle_id: &str,
    motion_id: &str,
    affected: &[String],
    presidents: &BTreeMap<String, &Archon>,
) -> Result<InboxLoad, PlanError> {
    let mut by_portfolio: BTreeMap<String, PortfolioResponse> = BTreeMap::new();
    let mut v1_findings = Vec::new();
    let mut seen = BTreeSet::new();
    for file in files {
        let source = format!("{inbox_label}/{}", file.name);
        let Some((kind, pid)) = classify(&file.name) else {
            return Err(InputError::new(
                &source,
                "$",
                format!(
                    "the file name matches no portfolio of motion {motion_id}; expected one of: {}",
                    expected_names(affected).join(", ")
                ),
            )
            .into());
        };
        known_portfolio(presidents, pid, &format!("inbox file {source}"))?;
        if !affected.iter().any(|a| a == pid) {
            return Err(InputError::new(
                &source,
                "$",
                format!(
                    "portfolio {pid} is not affected by motion {motion_id} (affected: {})",
                    affected.join(", ")
                ),
            )
            .into());
        }
        if !seen.insert(pid.to_string()) {
            return Err(InputError::new(
                &source,
                "$",
                format!("portfolio {pid} has both a contribution and an attestation in the inbox; keep one"),
            )
            .into());
        }
        let value: Value = parse_json(&source, &file.text)?;
        reject_unfinished(&source, &value)?;
        let response = match kind {
            Kind::Contribution if is_v1(&value) => {
                let (c, findings) = convert_contribution(&source, &value)?;
                v1_findings.extend(findings.into_iter().map(|f| (source.clone(), f)));
                PortfolioResponse::Contribution(c)
            }
            Kind::Contribution => {
                let mut c: PortfolioContribution = from_value(&source, "$", &value)?;
                c.generated_by = "manual".into();
                check_package_owners(&source, &c, pid)?;
                PortfolioResponse::Contribution(c)
            }
            Kind::Attestation => {
                let mut a: NoActionAttestation = from_value(&source, "$", &value)?;
                a.generated_by = "manual".into();
                a.fallback = false;
                PortfolioResponse::Attestation(a)
            }
        };
        check_identity(&source, &response, pid, cycle_id, motion_id, presidents)?;
        by_portfolio.insert(pid.to_string(), response);
    }
    check_unique_blocker_ids(&by_portfolio, inbox_label)?;
    let mut responses = Vec::new();
    let mut missing = Vec::new();
    for pid in affected {
        match by_portfolio.remove(pid) {
            Some(r) => responses.push(r),
            None => {
                missing.push(pid.clone());
                if let Some(p) = presidents.get(pid) {
                    responses.push(PortfolioResponse::Attestation(fallback_attestation(
                        identity(p),
                        cycle_id,
                        motion_id,
                        &format!(
                            "no contribution_{pid}.json or attestation_{pid}.json in {inbox_label}"
                        ),
                        None,
                    )));
                }
            }
        }
    }
    Ok(InboxLoad {
        responses,
        v1_findings,
        missing,
    })
}

/// Refuses scaffolds that were not filled in.
fn reject_unfinished(source: &str, value: &Value) -> Result<(), InputError> {
    if value.get(TEMPLATE_MARKER).and_then(Value::as_bool) == Some(true) {
        return Err(InputError::new(
            source,
            "$.template",
            "this is an unedited --scaffold-inbox template: fill it in and remove \"template\": true",
        ));
    }
    let mut todos = Vec::new();
    find_todos(value, "$".into(), &mut todos);
    if !todos.is_empty() {
        return Err(InputError::new(
            source,
            todos.join(", "),
            format!("{TODO} placeholder(s) not replaced"),
        ));
    }
    Ok(())
}

fn find_todos(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains(TODO) => out.push(path),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_todos(item, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                find_todos(item, format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// Every hand-written package names its portfolio: the file's own.
fn check_package_owners(
    source: &str,
    c: &PortfolioContribution,
    pid: &str,
) -> Result<(), InputError> {
    for (i, p) in c.work_packages.iter().enumerate() {
        if p.portfolio_id != pid {
            return Err(InputError::new(
                source,
                format!("$.work_packages[{i}].portfolio_id"),
                if p.portfolio_id.trim().is_empty() {
                    format!(
                        "work package {} has no portfolio_id: give {pid:?}",
                        p.package_id
                    )
                } else {
                    format!(
                        "work package {} names portfolio {:?}, but this is {pid}'s contribution",
                        p.package_id, p.portfolio_id
                    )
                },
            ));
        }
    }
    Ok(())
}

fn check_identity(
    source: &str,
    response: &PortfolioResponse,
    pid: &str,
    cycle_id: &str,
    motion_id: &str,
    presidents: &BTreeMap<String, &Archon>,
) -> Result<(), InputError> {
    let (cycle, motion, who) = match response {
        PortfolioResponse::Contribution(c) => (&c.cycle_id, &c.motion_id, &c.portfolio),
        PortfolioResponse::Attestation(a) => (&a.cycle_id, &a.motion_id, &a.portfolio),
    };
    if cycle != cycle_id {
        return Err(InputError::new(
            source,
            "$.cycle_id",
            format!("cycle mismatch: the file is for cycle {cycle:?}, this cycle is {cycle_id:?}"),
        ));
    }
    if motion != motion_id {
        return Err(InputError::new(
            source,
            "$.motion_id",
            format!("motion mismatch: the file is for motion {motion:?}, this is {motion_id:?}"),
        ));
    }
    if who.portfolio_id != pid {
        return Err(InputError::new(
            source,
            "$.portfolio.portfolio_id",
            format!(
                "identity mismatch: the file name says {pid}, the file says {}",
                who.portfolio_id
            ),
        ));
    }
    if let Some(p) = presidents.get(pid) {
        if who.president_id != p.id || !who.president_name.eq_ignore_ascii_case(&p.name) {
            return Err(InputError::new(
                source,
                "$.portfolio",
                format!(
                    "identity mismatch: {pid} is held by {} ({}), the file names {} ({})",
                    p.name, p.id, who.president_name, who.president_id
                ),
            ));
        }
    }
    Ok(())
}

fn check_unique_blocker_ids(
    responses: &BTreeMap<String, PortfolioResponse>,
    inbox_label: &str,
) -> Result<(), InputError> {
    let mut seen = BTreeSet::new();
    for r in responses.values() {
        let PortfolioResponse::Contribution(c) = r else {
            continue;
        };
        for (i, b) in c.blockers.iter().enumerate() {
            if let Some(id) = &b.id {
                archon_core::ids::safe_component(id, inbox_label, &format!("$.blockers[{i}].id"))?;
                if !seen.insert(id.clone()) {
                    return Err(InputError::new(
                        format!(
                            "{inbox_label}/{}",
                            r.artifact_path().trim_start_matches("contributions/")
                        ),
                        format!("$.blockers[{i}].id"),
                        format!("blocker id {id:?} is used twice in the inbox"),
                    ));
                }
            }
            for (k, t) in b.verification_tasks.iter().enumerate() {
                if !t.task_id.is_empty() {
                    archon_core::ids::safe_component(
                        &t.task_id,
                        inbox_label,
                        &format!("$.blockers[{i}].verification_tasks[{k}].task_id"),
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// `--scaffold-inbox`: one contribution template per affected portfolio (file
/// name, JSON). An attestation is written instead by renaming the file to
/// `attestation_<portfolio>.json` and giving `reason` and a `NONE` capacity claim.
pub fn scaffold(
    cycle_id: &str,
    motion_id: &str,
    affected: &[String],
    presidents: &BTreeMap<String, &Archon>,
) -> Vec<(String, Value)> {
    affected
        .iter()
        .filter_map(|pid| presidents.get(pid).map(|p| (pid, p)))
        .map(|(pid, p)| {
            let prefix = package_prefix(pid);
            (
                format!("contribution_{pid}.json"),
                json!({
                    TEMPLATE_MARKER: true,
                    "instructions": "Replace every TODO placeholder and remove \"template\": true. For no action, rename to attestation_<portfolio>.json with {schema_version, cycle_id, motion_id, portfolio, reason, capacity_claim: {claim_type: NONE, units: 0}}. No story points, estimates, hours, FR/NFR or detailed requirements.",
                    "schema_version": crate::model::PLAN_SCHEMA_VERSION,
                    "cycle_id": cycle_id,
                    "motion_id": motion_id,
                    "portfolio": identity(p),
                    "work_packages": [{
                        "schema_version": crate::model::PLAN_SCHEMA_VERSION,
                        "package_id": format!("{prefix}01"),
                        "portfolio_id": pid,
                        "scope_description": "TODO: what this portfolio will deliver",
                        "mapped_clauses": ["TODO: clause reference such as 2.1"],
                        "dependencies": [],
                        "constraints_respected": [],
                        "success_signal": "TODO: how delivery will be seen"
                    }],
                    "capacity_claim": {"claim_type": "COARSE", "units": 1, "confidence": "MEDIUM", "notes": "TODO: coarse capacity note"},
                    "blockers": []
                }),
            )
        })
        .collect()
}
