//! Aegis Cluster definitions (the fixture's `cluster-*.json` format) and the
//! eligibility rules of capability matching (spec: earl-decomposition-bridge §10).

use std::collections::BTreeMap;

use archon_core::ids::safe_component;
use archon_core::input::{parse_json, InputError, InputErrors};
use serde::{Deserialize, Serialize};

/// The bundled example clusters (`data/clusters/`), engineering tags included.
const BUNDLED: &[(&str, &str)] = &[
    (
        "data/clusters/cluster-17-research.json",
        include_str!("../../../data/clusters/cluster-17-research.json"),
    ),
    (
        "data/clusters/cluster-42-backend.json",
        include_str!("../../../data/clusters/cluster-42-backend.json"),
    ),
    (
        "data/clusters/cluster-43-security.json",
        include_str!("../../../data/clusters/cluster-43-security.json"),
    ),
    (
        "data/clusters/cluster-44-qa-devops.json",
        include_str!("../../../data/clusters/cluster-44-qa-devops.json"),
    ),
    (
        "data/clusters/cluster-45-frontend.json",
        include_str!("../../../data/clusters/cluster-45-frontend.json"),
    ),
];

/// Capability tags of the cluster schema.
pub const CAPABILITY_TAGS: &[&str] = &[
    "research",
    "analysis",
    "writing",
    "review",
    "design",
    "dev_backend",
    "dev_frontend",
    "devops",
    "security",
    "data_engineering",
    "qa_testing",
    "product_ops",
    "community_ops",
    "incident_response",
    "compliance_ops",
    "other",
];

/// A task's sensitivity level, a cross-stage contract decided by the decomposition.
pub use archon_artifacts::Sensitivity;

/// Steward authorisation and task sensitivity share one ordering:
/// standard < sensitive < restricted. A steward may take a task whose
/// sensitivity is at most their auth level.
pub type AuthLevel = Sensitivity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterStatus {
    Active,
    Paused,
    Retired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Available,
    Limited,
    Unavailable,
}

/// The fields of a cluster definition that routing and consent use; other
/// fields of the fixture format are accepted and ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub cluster_id: String,
    #[serde(default)]
    pub name: String,
    pub status: ClusterStatus,
    pub steward: Steward,
    pub capabilities: Capabilities,
    pub capacity: Capacity,
    pub consent_policy: ConsentPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Steward {
    pub steward_id: String,
    #[serde(default)]
    pub display_name: String,
    pub auth_level: AuthLevel,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub availability_status: Availability,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentPolicy {
    pub requires_explicit_acceptance: bool,
    pub refusal_is_penalty_free: bool,
}

impl Cluster {
    /// Parses and validates one definition; errors name `source` and the JSON path.
    pub fn parse(source: &str, text: &str) -> Result<Cluster, InputErrors> {
        let cluster: Cluster = parse_json(source, text)?;
        let mut errors = Vec::new();
        if let Err(e) = safe_component(&cluster.cluster_id, source, "$.cluster_id") {
            errors.push(e);
        }
        if cluster.steward.steward_id.trim().is_empty() {
            errors.push(InputError::new(
                source,
                "$.steward.steward_id",
                "steward_id is empty",
            ));
        }
        if cluster.capabilities.tags.is_empty() {
            errors.push(InputError::new(
                source,
                "$.capabilities.tags",
                "a cluster needs at least one capability tag",
            ));
        }
        for (i, tag) in cluster.capabilities.tags.iter().enumerate() {
            if !CAPABILITY_TAGS.contains(&tag.as_str()) {
                errors.push(InputError::new(
                    source,
                    format!("$.capabilities.tags[{i}]"),
                    format!(
                        "unknown capability tag {tag:?} (expected one of {})",
                        CAPABILITY_TAGS.join(", ")
                    ),
                ));
            }
        }
        // Consent is the contract: a cluster that cannot refuse freely is not routable.
        if !cluster.consent_policy.requires_explicit_acceptance {
            errors.push(InputError::new(
                source,
                "$.consent_policy.requires_explicit_acceptance",
                "must be true",
            ));
        }
        if !cluster.consent_policy.refusal_is_penalty_free {
            errors.push(InputError::new(
                source,
                "$.consent_policy.refusal_is_penalty_free",
                "must be true",
            ));
        }
        if errors.is_empty() {
            Ok(cluster)
        } else {
            Err(InputErrors(errors))
        }
    }

    /// Why this cluster cannot take a task with these needs, or `None` if it can.
    pub fn ineligibility(
        &self,
        required_tags: &[String],
        sensitivity: Sensitivity,
    ) -> Option<String> {
        if self.status != ClusterStatus::Active {
            return Some(format!("status is {:?}", self.status).to_lowercase());
        }
        if self.capacity.availability_status == Availability::Unavailable {
            return Some("unavailable".to_string());
        }
        let missing: Vec<&str> = required_tags
            .iter()
            .filter(|t| !self.capabilities.tags.contains(t))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Some(format!("lacks tags {}", missing.join(", ")));
        }
        if self.steward.auth_level < sensitivity {
            return Some(format!(
                "steward auth level {} is below sensitivity {}",
                self.steward.auth_level.as_str(),
                sensitivity.as_str()
            ));
        }
        None
    }
}

/// All known clusters, ordered by `cluster_id` (the deterministic routing order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterRegistry {
    clusters: BTreeMap<String, Cluster>,
    /// Files of the folder it was loaded from that are not cluster definitions,
    /// each with why (see [`crate::io::load_cluster_dir`]).
    skipped: Vec<String>,
}

impl ClusterRegistry {
    /// The bundled example clusters.
    pub fn bundled() -> Result<ClusterRegistry, InputErrors> {
        ClusterRegistry::from_sources(BUNDLED.iter().map(|(s, t)| (s.to_string(), t.to_string())))
    }

    /// Builds a registry from (source name, JSON text) pairs; all problems are
    /// reported together, and a `cluster_id` defined twice is an error.
    pub fn from_sources(
        sources: impl IntoIterator<Item = (String, String)>,
    ) -> Result<ClusterRegistry, InputErrors> {
        let mut clusters: BTreeMap<String, (String, Cluster)> = BTreeMap::new();
        let mut errors = Vec::new();
        for (source, text) in sources {
            match Cluster::parse(&source, &text) {
                Err(InputErrors(es)) => errors.extend(es),
                Ok(c) => {
                    if let Some((first, _)) = clusters.get(&c.cluster_id) {
                        errors.push(InputError::new(
                            &source,
                            "$.cluster_id",
                            format!("cluster_id {} is already defined in {first}", c.cluster_id),
                        ));
                    } else {
                        clusters.insert(c.cluster_id.clone(), (source, c));
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(InputErrors(errors));
        }
        Ok(ClusterRegistry {
            clusters: clusters.into_iter().map(|(k, (_, c))| (k, c)).collect(),
            skipped: Vec::new(),
        })
    }

    /// The registry, noting the files skipped while loading it.
    pub fn with_skipped(mut self, skipped: Vec<String>) -> ClusterRegistry {
        self.skipped = skipped;
        self
    }

    /// One warning per file skipped when the registry was loaded.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    pub fn get(&self, cluster_id: &str) -> Option<&Cluster> {
        self.clusters.get(cluster_id)
    }

    pub fn all(&self) -> impl Iterator<Item = &Cluster> {
        self.clusters.values()
    }

    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Eligible clusters sorted by `cluster_id`, leaving out `excluded` ones.
    pub fn eligible<'a>(
        &'a self,
        required_tags: &'a [String],
        sensitivity: Sensitivity,
        excluded: &'a [String],
    ) -> impl Iterator<Item = &'a Cluster> + 'a {
        self.clusters.values().filter(move |c| {
            !excluded.contains(&c.cluster_id)
                && c.ineligibility(required_tags, sensitivity).is_none()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bundled_clusters_parse_and_route_engineering_work() {
        let reg = ClusterRegistry::bundled().expect("bundled clusters are valid");
        assert_eq!(reg.len(), 5);
        let need = tags(&["dev_backend", "qa_testing"]);
        let ids: Vec<&str> = reg
            .eligible(&need, Sensitivity::Standard, &[])
            .map(|c| c.steward.steward_id.as_str())
            .collect();
        // 45 has the tags but is paused; 17 lacks them.
        assert_eq!(ids, ["steward-42", "steward-43", "steward-44"]);
        let ids: Vec<&str> = reg
            .eligible(&need, Sensitivity::Restricted, &[])
            .map(|c| c.steward.steward_id.as_str())
            .collect();
        assert_eq!(ids, ["steward-43"]);
    }

    #[test]
    fn fixture_cluster_format_is_accepted() {
        let text = r#"{"cluster_id":"9c5f8a55-06f2-4f2b-bd95-0d2b9d14b0c4","version":"1.0.0",
          "name":"Aegis Cluster 17","status":"active",
          "steward":{"steward_id":"steward-17","display_name":"S","contact":{"channel":"slack","address":"@a"},"auth_level":"standard"},
          "capabilities":{"tags":["research","analysis"],"tooling":[]},
          "capacity":{"availability_status":"available","max_concurrent_tasks":3,"max_weekly_task_load":10},
          "consent_policy":{"requires_explicit_acceptance":true,"refusal_is_penalty_free":true,"acceptance_method":"steward_accepts","task_types_allowed":["other"]},
          "audit":{"created_at":"x","updated_at":"x","audit_level":"standard","event_log_enabled":true}}"#;
        let c = Cluster::parse("c17.json", text).expect("valid");
        assert_eq!(
            c.ineligibility(&tags(&["research"]), Sensitivity::Sensitive)
                .as_deref(),
            Some("steward auth level standard is below sensitivity sensitive")
        );
    }

    #[test]
    fn malformed_clusters_name_file_and_path() {
        let cases = [
            (r#"{"cluster_id":"a"}"#, "$", "missing field"),
            (
                r#"{"cluster_id":"x","status":"sleeping"}"#,
                "$.status",
                "unknown variant",
            ),
            ("{\"cluster_id\": ", "$.cluster_id", "malformed JSON"),
        ];
        for (text, path, msg) in cases {
            let err = Cluster::parse("bad.json", text).expect_err("must fail");
            assert_eq!(err.0[0].source_name, "bad.json");
            assert_eq!(err.0[0].path, path, "{text}");
            assert!(err.0[0].message.contains(msg), "{}", err.0[0].message);
        }
        let reg = ClusterRegistry::bundled().expect("valid");
        let good = serde_json::to_string(reg.all().next().expect("one")).unwrap_or_default();
        let hostile = good.replacen("5d1e2f30-0017-4a17-8a17-000000000017", "../x", 1);
        let bad_tag = good.replacen("\"research\"", "\"juggling\"", 1);
        let coerced = good.replacen(
            "\"refusal_is_penalty_free\":true",
            "\"refusal_is_penalty_free\":false",
            1,
        );
        let err = ClusterRegistry::from_sources([
            ("a.json".to_string(), hostile),
            ("b.json".to_string(), bad_tag),
            ("c.json".to_string(), coerced),
            ("d.json".to_string(), good.clone()),
            ("e.json".to_string(), good),
        ])
        .expect_err("must fail");
        let got: Vec<String> = err
            .0
            .iter()
            .map(|e| format!("{} {}", e.source_name, e.path))
            .collect();
        assert_eq!(
            got,
            [
                "a.json $.cluster_id",
                "b.json $.capabilities.tags[0]",
                "c.json $.consent_policy.refusal_is_penalty_free",
                "e.json $.cluster_id"
            ]
        );
    }
}
