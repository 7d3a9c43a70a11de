//! The handoff contract: the required input fields of the execution function
//! (doctrine/handoff-contract.md) and their validation, the Input Validation
//! preamble. Validation never fails halfway: it names every missing field at once.

use serde::{Deserialize, Serialize};

/// One required input field, named as in the handoff contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequiredField {
    TaskRef,
    ActivationId,
    ClusterId,
    Description,
    Requirements,
    ExpectedOutcomes,
    Workspace,
    ReportPath,
    InputSource,
    HandoffIssuer,
}

impl RequiredField {
    pub const ALL: [RequiredField; 10] = [
        RequiredField::TaskRef,
        RequiredField::ActivationId,
        RequiredField::ClusterId,
        RequiredField::Description,
        RequiredField::Requirements,
        RequiredField::ExpectedOutcomes,
        RequiredField::Workspace,
        RequiredField::ReportPath,
        RequiredField::InputSource,
        RequiredField::HandoffIssuer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequiredField::TaskRef => "task_ref",
            RequiredField::ActivationId => "activation_id",
            RequiredField::ClusterId => "cluster_id",
            RequiredField::Description => "description",
            RequiredField::Requirements => "requirements",
            RequiredField::ExpectedOutcomes => "expected_outcomes",
            RequiredField::Workspace => "workspace",
            RequiredField::ReportPath => "report_path",
            RequiredField::InputSource => "input_source",
            RequiredField::HandoffIssuer => "handoff_issuer",
        }
    }
}

/// What the caller passes in: every field may be absent, and validation says which are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffInput {
    pub task_ref: Option<String>,
    pub activation_id: Option<String>,
    pub cluster_id: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub requirements: Vec<String>,
    #[serde(default)]
    pub expected_outcomes: Vec<String>,
    pub workspace: Option<String>,
    pub report_path: Option<String>,
    pub input_source: Option<String>,
    pub handoff_issuer: Option<String>,
}

/// A handoff whose required input fields are all present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    pub task_ref: String,
    pub activation_id: String,
    pub cluster_id: String,
    pub description: String,
    pub requirements: Vec<String>,
    pub expected_outcomes: Vec<String>,
    pub workspace: String,
    pub report_path: String,
    pub input_source: String,
    pub handoff_issuer: String,
}

/// A blank string is as missing as an absent one: it cannot be acted on.
fn present(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn present_list(values: &[String]) -> Option<Vec<String>> {
    let kept: Vec<String> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect();
    (!kept.is_empty()).then_some(kept)
}

impl HandoffInput {
    /// The Input Validation preamble: the complete handoff, or every missing field in contract order.
    pub fn validate(&self) -> Result<Handoff, Vec<RequiredField>> {
        use RequiredField as F;
        let mut missing = Vec::new();
        let m = &mut missing;
        let handoff = Handoff {
            task_ref: require(m, F::TaskRef, present(&self.task_ref)),
            activation_id: require(m, F::ActivationId, present(&self.activation_id)),
            cluster_id: require(m, F::ClusterId, present(&self.cluster_id)),
            description: require(m, F::Description, present(&self.description)),
            requirements: require(m, F::Requirements, present_list(&self.requirements)),
            expected_outcomes: require(
                m,
                F::ExpectedOutcomes,
                present_list(&self.expected_outcomes),
            ),
            workspace: require(m, F::Workspace, present(&self.workspace)),
            report_path: require(m, F::ReportPath, present(&self.report_path)),
            input_source: require(m, F::InputSource, present(&self.input_source)),
            handoff_issuer: require(m, F::HandoffIssuer, present(&self.handoff_issuer)),
        };
        if missing.is_empty() {
            Ok(handoff)
        } else {
            Err(missing)
        }
    }
}

/// The value of a present field; an absent one is noted in `missing`.
fn require<T: Default>(
    missing: &mut Vec<RequiredField>,
    field: RequiredField,
    value: Option<T>,
) -> T {
    if value.is_none() {
        missing.push(field);
    }
    value.unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_every_missing_field_in_contract_order() {
        let input = HandoffInput {
            task_ref: Some("TASK-A-001a".into()),
            description: Some("  ".into()),
            requirements: vec!["".into()],
            ..HandoffInput::default()
        };
        let missing = input.validate().unwrap_err();
        let names: Vec<&str> = missing.iter().map(|f| f.as_str()).collect();
        assert_eq!(
            names,
            [
                "activation_id",
                "cluster_id",
                "description",
                "requirements",
                "expected_outcomes",
                "workspace",
                "report_path",
                "input_source",
                "handoff_issuer"
            ]
        );
    }
}
