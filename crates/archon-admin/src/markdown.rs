//! The Duke proposal markdown, exactly as the decomposition bridge parses it
//! (spec: earl-decomposition-bridge, 1b): `## Executive Summary`, `## Tactics`
//! with `### T-<ABBREV>-NNN: Title` blocks of `- **Field:** value` lines, and
//! `## Risks` with `### R-<ABBREV>-NNN: Title` blocks. [`parse`] reads it back.

use crate::proposal::{Impact, Likelihood, Proposal};

/// The tactic field lines, in the order written.
pub const TACTIC_FIELDS: [&str; 7] = [
    "Description",
    "Deliverable",
    "Rationale",
    "Prerequisites",
    "Dependencies",
    "Estimated Duration",
    "Owner",
];

fn or_none(s: &str) -> &str {
    if s.trim().is_empty() {
        "None"
    } else {
        s
    }
}

pub fn render(p: &Proposal) -> String {
    let c = &p.content;
    let mut md = format!("# Proposal from Duke {}\n\n", p.duke_name);
    md.push_str(&format!(
        "- **Proposal:** {}\n- **RFP:** {}\n- **Mandate:** {}\n- **Iteration:** {}\n- **Approach:** {}\n\n",
        p.proposal_id, p.rfp_id, p.mandate_id, p.iteration, c.approach
    ));
    md.push_str(&format!(
        "## Executive Summary\n{}\n\n## Tactics\n",
        c.executive_summary
    ));
    for t in &c.tactics {
        let deps = if t.dependencies.is_empty() {
            "None".to_string()
        } else {
            t.dependencies.join(", ")
        };
        let values = [
            or_none(&t.description),
            or_none(&t.deliverable_id),
            or_none(&t.rationale),
            or_none(&t.prerequisites),
            &deps,
            or_none(&t.estimated_duration),
            or_none(&t.owner),
        ];
        md.push_str(&format!("\n### {}: {}\n", t.tactic_id, t.title));
        for (field, value) in TACTIC_FIELDS.iter().zip(values) {
            md.push_str(&format!("- **{field}:** {value}\n"));
        }
    }
    md.push_str("\n## Risks\n");
    for r in &c.risks {
        md.push_str(&format!(
            "\n### {}: {}\n- **Description:** {}\n- **Likelihood:** {}\n- **Impact:** {}\n- **Mitigation:** {}\n",
            r.risk_id,
            r.title,
            or_none(&r.description),
            r.likelihood.as_str(),
            r.impact.as_str(),
            or_none(&r.mitigation)
        ));
    }
    md
}

/// A tactic block as the bridge reads it (its `TacticContext`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedTactic {
    pub tactic_id: String,
    pub title: String,
    pub description: String,
    pub deliverable_id: Option<String>,
    pub rationale: Option<String>,
    pub prerequisites: Option<String>,
    pub dependencies: Vec<String>,
    pub duration: Option<String>,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRisk {
    pub risk_id: String,
    pub title: String,
    pub description: Option<String>,
    pub likelihood: Option<Likelihood>,
    pub impact: Option<Impact>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedProposal {
    pub executive_summary: String,
    pub tactics: Vec<ParsedTactic>,
    pub risks: Vec<ParsedRisk>,
}

/// `None` for the written placeholder.
fn optional(v: &str) -> Option<String> {
    (!v.is_empty() && v != "None").then(|| v.to_string())
}

/// `### <ID>: Title` where ID is `<prefix>-<LETTERS/DIGITS>-<digits>`.
fn block_header<'a>(line: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = line.strip_prefix("### ")?;
    let (id, title) = rest.split_once(':')?;
    let mut parts = id.split('-');
    let ok = parts.next() == Some(prefix)
        && parts.next().is_some_and(|a| {
            !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
        && parts
            .next()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_none();
    ok.then(|| (id, title.trim()))
}

/// `- **Field:** value`
fn field_line(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("- **")?;
    let (field, value) = rest.split_once(":**")?;
    Some((field, value.trim()))
}

/// Parses a proposal; lenient about extra sections, like the bridge.
pub fn parse(md: &str) -> ParsedProposal {
    let mut out = ParsedProposal::default();
    let mut section = "";
    for line in md.lines() {
        let line = line.trim_end();
        if let Some(h) = line.strip_prefix("## ") {
            section = match h.trim() {
                "Executive Summary" => "summary",
                "Tactics" => "tactics",
                "Risks" => "risks",
                _ => "",
            };
            continue;
        }
        if let Some((id, title)) = block_header(line, "T") {
            out.tactics.push(ParsedTactic {
                tactic_id: id.into(),
                title: title.into(),
                ..Default::default()
            });
            section = "tactic";
            continue;
        }
        if let Some((id, title)) = block_header(line, "R") {
            out.risks.push(ParsedRisk {
                risk_id: id.into(),
                title: title.into(),
                description: None,
                likelihood: None,
                impact: None,
            });
            section = "risk";
            continue;
        }
        match section {
            "summary" if !line.trim().is_empty() => {
                if !out.executive_summary.is_empty() {
                    out.executive_summary.push(' ');
                }
                out.executive_summary.push_str(line.trim());
            }
            "tactic" => {
                let (Some((field, value)), Some(t)) = (field_line(line), out.tactics.last_mut())
                else {
                    continue;
                };
                match field {
                    "Description" => t.description = value.into(),
                    "Deliverable" => t.deliverable_id = optional(value),
                    "Rationale" => t.rationale = optional(value),
                    "Prerequisites" => t.prerequisites = optional(value),
                    "Dependencies" => {
                        t.dependencies = optional(value)
                            .map(|v| {
                                v.split(',')
                                    .map(|d| d.trim().to_string())
                                    .filter(|d| !d.is_empty())
                                    .collect()
                            })
                            .unwrap_or_default()
                    }
                    "Estimated Duration" => t.duration = optional(value),
                    "Owner" => t.owner = optional(value),
                    _ => {}
                }
            }
            "risk" => {
                let (Some((field, value)), Some(r)) = (field_line(line), out.risks.last_mut())
                else {
                    continue;
                };
                match field {
                    "Description" => r.description = optional(value),
                    "Likelihood" => r.likelihood = Likelihood::parse(value),
                    "Impact" => r.impact = Impact::parse(value),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    for t in &mut out.tactics {
        if t.description.is_empty() {
            t.description = t.title.clone();
        }
    }
    out
}

#[cfg(test)]
mod tests;
