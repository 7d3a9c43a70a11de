//! Small rosters and motions built in code for unit tests.

use archon_core::roster::{Rank, Roster, RANK_COUNTS};

use crate::session::Motion;

/// A valid 72-archon roster; `prompt(i)` is archon i's system prompt.
pub fn roster_with(prompt: impl Fn(usize) -> String) -> Roster {
    let mut archons = Vec::new();
    for (rank, n) in RANK_COUNTS {
        for _ in 0..n {
            let i = archons.len();
            let mut a = serde_json::json!({
                "id": format!("id-{i}"), "name": format!("Name{i}"), "rank": rank,
                "aegis_rank": "director", "rank_level": 4, "branch": "advisory",
                "role": format!("Director - Domain{i}"), "goal": "g", "backstory": "b",
                "system_prompt": prompt(i),
                "llm_config": {"provider": "local", "model": "m"}
            });
            if rank == Rank::President {
                a["portfolio_id"] = format!("portfolio_{i}").into();
                a["portfolio_label"] = "P".into();
                a["portfolio_scope"] = serde_json::json!(["policy"]);
            }
            if rank == Rank::Earl {
                a["execution_domains"] = serde_json::json!(["operations"]);
            }
            archons.push(a);
        }
    }
    let text = serde_json::json!({ "archons": archons }).to_string();
    Roster::from_json("test roster", &text).expect("test roster is valid")
}

pub fn roster() -> Roster {
    roster_with(|_| "Red lines: weak_audit_trail.".into())
}

/// A mega-motion supported by archons `id-<i>` for i in `supporters`.
pub fn motion(id: &str, theme: &str, supporters: std::ops::Range<usize>) -> Motion {
    Motion {
        id: id.into(),
        title: format!("Motion {id}"),
        theme: theme.into(),
        text: "SECTION 1: SCOPE\n1.1 The Conclave resolves.".into(),
        source_motion_ids: vec![format!("src-{id}")],
        source_motion_titles: Vec::new(),
        supporter_ids: supporters.map(|i| format!("id-{i}")).collect(),
        unknown_supporters: Vec::new(),
        keywords: Vec::new(),
        is_novel_proposal: false,
        is_constitutional_amendment: false,
    }
}
