//! Who decomposes: the Earls (by branch, never by rank: `strategic_director`
//! also covers Princes and the Knight-Witness) and the facilitator who
//! synthesises their work, chosen from the routing table's portfolio domains.

use std::collections::BTreeSet;

use archon_core::roster::{words, Archon, Branch, Roster};

use crate::context::DecompositionContext;
use crate::inputs::RoutingTable;

/// The Earls of the `administrative_strategic` branch, in roster order.
pub fn earls(roster: &Roster) -> Vec<&Archon> {
    roster.of_branch(Branch::AdministrativeStrategic).collect()
}

pub struct Facilitator<'r> {
    pub archon: &'r Archon,
    /// Why this Earl: `domain match: <key>` or the default's reason.
    pub reason: String,
}

/// Words of a routing-table key that can match a domain (`portfolio_adversarial_risk_security`
/// → adversarial, risk, security).
fn key_words(key: &str) -> BTreeSet<String> {
    words(key)
        .filter(|w| w.len() > 2 && w != "portfolio")
        .collect()
}

/// The routing-table key whose words best match the tactic's deliverable
/// domain (deliverable name, description and criteria, tactic title and
/// description); ties go to the first key in order.
pub fn matching_domain<'t>(table: &'t RoutingTable, ctx: &DecompositionContext) -> Option<&'t str> {
    let mut text = format!("{} {}", ctx.tactic.title, ctx.tactic.description);
    if let Some(d) = &ctx.deliverable {
        text.push_str(&format!(
            " {} {} {}",
            d.name,
            d.description,
            d.acceptance_criteria.join(" ")
        ));
    }
    let domain: BTreeSet<String> = words(&text).collect();
    let mut best: Option<(&str, usize)> = None;
    for key in table.portfolio_to_earl.keys() {
        let score = key_words(key).intersection(&domain).count();
        if score > 0 && best.is_none_or(|(_, s)| score > s) {
            best = Some((key.as_str(), score));
        }
    }
    best.map(|(k, _)| k)
}

/// Resolves the facilitator: the Earl of the matching domain, else the
/// default Earl, else (a table naming no Earl of this roster) the first Earl.
pub fn resolve_facilitator<'r>(
    table: &RoutingTable,
    earls: &[&'r Archon],
    ctx: &DecompositionContext,
) -> Option<Facilitator<'r>> {
    let by_id = |id: &str| earls.iter().copied().find(|a| a.id == id);
    if let Some(key) = matching_domain(table, ctx) {
        if let Some(a) = table.portfolio_to_earl.get(key).and_then(|id| by_id(id)) {
            return Some(Facilitator {
                archon: a,
                reason: format!("domain match: {key}"),
            });
        }
    }
    if let Some(a) = by_id(&table.default_earl_id) {
        return Some(Facilitator {
            archon: a,
            reason: "default — no domain match".into(),
        });
    }
    earls.first().map(|a| Facilitator {
        archon: a,
        reason: format!(
            "first Earl — default_earl_id {} is not an Earl of the roster",
            table.default_earl_id
        ),
    })
}
