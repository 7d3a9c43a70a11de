//! Capability matching (spec section 10) on the cluster registry of
//! `archon-tasks` (the same registry the ledger routes with).

use archon_tasks::cluster::{Availability, ClusterStatus};
use archon_tasks::{Cluster, ClusterRegistry};

use crate::model::TaskDraft;

/// Where a task can go.
#[derive(Debug, PartialEq)]
pub enum Route<'c> {
    /// The top-K eligible clusters, by `cluster_id`.
    To(Vec<&'c Cluster>),
    /// No active cluster has the tags and the auth level.
    BlockedByCapability,
    /// Clusters have the capability, but every one of them is unavailable.
    BlockedByCapacity,
}

/// Whether a cluster has the capability regardless of its availability.
fn capable(c: &Cluster, draft: &TaskDraft) -> bool {
    c.status == ClusterStatus::Active
        && draft
            .capability_tags
            .iter()
            .all(|t| c.capabilities.tags.contains(t))
        && c.steward.auth_level >= draft.sensitivity
}

/// A `limited` cluster matches, but its headroom cannot be computed.
pub fn capacity_unknown(c: &Cluster) -> bool {
    c.capacity.availability_status == Availability::Limited
}

/// Rules 1–6: active, not unavailable, tags a subset, auth level meeting the
/// task's sensitivity, sorted by `cluster_id`, top K.
pub fn route<'c>(draft: &'c TaskDraft, clusters: &'c ClusterRegistry, top_k: usize) -> Route<'c> {
    let eligible: Vec<&Cluster> = clusters
        .eligible(&draft.capability_tags, draft.sensitivity, &[])
        .take(top_k)
        .collect();
    if !eligible.is_empty() {
        Route::To(eligible)
    } else if clusters.all().any(|c| capable(c, draft)) {
        Route::BlockedByCapacity
    } else {
        Route::BlockedByCapability
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Sensitivity;

    fn cluster(
        n: u32,
        status: &str,
        auth: &str,
        tags: &[&str],
        availability: &str,
    ) -> (String, String) {
        let json = serde_json::json!({
            "cluster_id": format!("c-{n}"), "status": status,
            "steward": {"steward_id": format!("steward-{n}"), "auth_level": auth},
            "capabilities": {"tags": tags},
            "capacity": {"availability_status": availability},
            "consent_policy": {"requires_explicit_acceptance": true, "refusal_is_penalty_free": true}
        });
        (format!("c{n}.json"), json.to_string())
    }

    fn task(tags: &[&str], sensitivity: Sensitivity) -> TaskDraft {
        let mut d: TaskDraft = serde_json::from_value(serde_json::json!({
            "task_ref": "TASK-AB-001a", "parent_tactic_id": "T-AB-001", "rfp_id": "r",
            "mandate_id": "m", "proposal_id": "p", "description": "d", "requirements": [],
            "expected_outcomes": ["x", "y"], "capability_tags": tags, "effort_hours": 1.0,
            "deliverable_id": "", "dependencies": []
        }))
        .unwrap();
        d.sensitivity = sensitivity;
        d
    }

    fn ids(r: Route<'_>) -> Vec<String> {
        match r {
            Route::To(cs) => cs.iter().map(|c| c.cluster_id.clone()).collect(),
            other => vec![format!("{other:?}")],
        }
    }

    #[test]
    fn matching_rules() {
        let reg = ClusterRegistry::from_sources([
            cluster(
                3,
                "active",
                "restricted",
                &["dev_backend", "qa_testing", "security"],
                "limited",
            ),
            cluster(
                1,
                "active",
                "standard",
                &["dev_backend", "qa_testing"],
                "available",
            ),
            cluster(
                0,
                "paused",
                "restricted",
                &["dev_backend", "qa_testing"],
                "available",
            ),
            cluster(
                2,
                "active",
                "standard",
                &["dev_backend", "qa_testing"],
                "unavailable",
            ),
            cluster(4, "retired", "restricted", &["writing"], "available"),
        ])
        .unwrap();
        let t = task(&["dev_backend", "qa_testing"], Sensitivity::Standard);
        assert_eq!(ids(route(&t, &reg, 1)), ["c-1"]);
        assert_eq!(ids(route(&t, &reg, 5)), ["c-1", "c-3"]);
        let t = task(&["dev_backend"], Sensitivity::Sensitive);
        assert_eq!(ids(route(&t, &reg, 5)), ["c-3"]);
        let t = task(&["writing"], Sensitivity::Standard);
        assert_eq!(route(&t, &reg, 1), Route::BlockedByCapability);

        let reg = ClusterRegistry::from_sources([cluster(
            9,
            "active",
            "standard",
            &["writing"],
            "unavailable",
        )])
        .unwrap();
        assert_eq!(route(&t, &reg, 1), Route::BlockedByCapacity);
    }
}
