//! The sensitivity of a task: decided by `archon-decompose`, recorded and
//! enforced by the governance ledger of `archon-tasks`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A task's sensitivity, and a steward's auth level: the same ordered scale
/// (standard < sensitive < restricted).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    #[default]
    Standard,
    Sensitive,
    Restricted,
}

impl Sensitivity {
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Standard => "standard",
            Sensitivity::Sensitive => "sensitive",
            Sensitivity::Restricted => "restricted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_its_name_and_orders_by_level() {
        for s in [
            Sensitivity::Standard,
            Sensitivity::Sensitive,
            Sensitivity::Restricted,
        ] {
            let text = serde_json::to_string(&s).expect("serialise");
            assert_eq!(text, format!("\"{}\"", s.as_str()));
        }
        assert!(Sensitivity::Standard < Sensitivity::Sensitive);
        assert!(Sensitivity::Sensitive < Sensitivity::Restricted);
    }
}
