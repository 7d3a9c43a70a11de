//! Round trip: what `render` writes, `parse` reads back field for field.

use super::*;
use crate::proposal::*;

pub(crate) fn sample() -> Proposal {
    let tactic = |n: u32, deps: &[&str], deliverable: &str| Tactic {
        tactic_id: format!("T-GUSI-{n:03}"),
        title: format!("Tactic number {n}"),
        description: format!("Do step {n} well"),
        deliverable_id: deliverable.into(),
        rationale: "Required by FR-SECU-001, NFR-IDEN-01".into(),
        prerequisites: if deps.is_empty() {
            "None".into()
        } else {
            format!("{} completed", deps.join(", "))
        },
        dependencies: deps.iter().map(|d| d.to_string()).collect(),
        estimated_duration: format!("P{}D", 7 * n),
        owner: "duke_gusion".into(),
    };
    Proposal {
        schema_version: "1.0".into(),
        artifact_type: ARTIFACT_TYPE.into(),
        proposal_id: "dprop-gusi-364851af".into(),
        duke_name: "Gusion".into(),
        duke_id: "archon-gusion-024".into(),
        duke_abbreviation: "GUSI".into(),
        rfp_id: "rfp-f35d55a37c3e".into(),
        mandate_id: "mandate-1".into(),
        iteration: 1,
        revision_of: None,
        revision_request_id: None,
        content: ProposalContent {
            executive_summary: "Gusion proposes a phased approach.".into(),
            approach: "phased".into(),
            tactics: vec![
                tactic(1, &[], "D-001"),
                tactic(2, &["T-GUSI-001"], "D-001"),
                tactic(3, &["T-GUSI-001", "T-GUSI-002"], "D-002"),
            ],
            risks: vec![Risk {
                risk_id: "R-GUSI-001".into(),
                title: "Schema Migration Complexity".into(),
                description: "Existing data may not conform".into(),
                likelihood: Likelihood::Possible,
                impact: Impact::Moderate,
                mitigation: String::new(),
            }],
            implementation_proposals: Vec::new(),
        },
        created_at: "2026-01-31T10:00:00Z".into(),
    }
}

#[test]
fn render_then_parse_gives_back_every_field() {
    let p = sample();
    let md = render(&p);
    let parsed = parse(&md);
    assert_eq!(parsed.executive_summary, p.content.executive_summary);
    assert_eq!(parsed.tactics.len(), p.content.tactics.len());
    for (t, back) in p.content.tactics.iter().zip(&parsed.tactics) {
        assert_eq!(back.tactic_id, t.tactic_id);
        assert_eq!(back.title, t.title);
        assert_eq!(back.description, t.description);
        assert_eq!(
            back.deliverable_id.as_deref(),
            Some(t.deliverable_id.as_str())
        );
        assert_eq!(back.rationale.as_deref(), Some(t.rationale.as_str()));
        let prereq = (t.prerequisites != "None").then_some(t.prerequisites.as_str());
        assert_eq!(back.prerequisites.as_deref(), prereq);
        assert_eq!(back.dependencies, t.dependencies);
        assert_eq!(
            back.duration.as_deref(),
            Some(t.estimated_duration.as_str())
        );
        assert_eq!(back.owner.as_deref(), Some(t.owner.as_str()));
    }
    let r = &parsed.risks[0];
    assert_eq!(
        (r.risk_id.as_str(), r.title.as_str()),
        ("R-GUSI-001", "Schema Migration Complexity")
    );
    assert_eq!(
        (r.likelihood, r.impact),
        (Some(Likelihood::Possible), Some(Impact::Moderate))
    );
}

#[test]
fn markdown_has_the_bridge_layout() {
    insta::assert_snapshot!(render(&sample()));
}

#[test]
fn the_spec_example_parses() {
    let md = "# Proposal from Duke Gusion\n\n## Executive Summary\nGusion proposes...\n\n## Tactics\n\n### T-GUSI-002: Build Ingestion Pipeline\n- **Description:** Implement automated ingestion of TI feeds\n- **Deliverable:** D-001\n- **Prerequisites:** T-GUSI-001 completed\n- **Dependencies:** T-GUSI-001\n- **Estimated Duration:** P21D\n- **Owner:** duke_gusion\n\n## Risks\n\n### R-GUSI-001: Schema Migration Complexity\n- **Description:** Existing data may not conform to new schema\n- **Likelihood:** POSSIBLE\n- **Impact:** MODERATE\n";
    let p = parse(md);
    assert_eq!(p.tactics[0].tactic_id, "T-GUSI-002");
    assert_eq!(p.tactics[0].dependencies, vec!["T-GUSI-001"]);
    assert_eq!(p.tactics[0].rationale, None);
    assert_eq!(p.risks[0].impact, Some(Impact::Moderate));
}
