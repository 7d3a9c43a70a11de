//! Handing routed tasks to the governance layer (spec 4, step E). The bridge
//! needs one operation, `create_activation`; the ledger of `archon-tasks`
//! provides it in the CLI, an in-memory sink in tests.

use serde::{Deserialize, Serialize};

/// Where an activation came from: a cross-stage contract, read back by the trace.
pub use archon_artifacts::TaskProvenance as Provenance;

/// The arguments of `create_activation`, with the typed provenance chain:
/// the cross-stage contract the ledger of `archon-tasks` takes as it is.
pub type ActivationRequest = archon_artifacts::ActivationRequest<Provenance>;

/// A created activation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationReceipt {
    pub activation_id: String,
    /// The task's lifecycle state after activation (e.g. `ROUTED`).
    pub state: String,
}

/// The governance activation API as the bridge sees it.
pub trait ActivationSink {
    /// Creates an activation; `Err` carries why none was created (refused by
    /// the coercion filter, ledger error, …).
    fn create_activation(
        &mut self,
        request: &ActivationRequest,
    ) -> Result<ActivationReceipt, String>;

    /// Creates several activations, one result each in order; a sink that can
    /// commit them together (the ledger: one transaction pair) overrides this.
    fn create_activations(
        &mut self,
        requests: &[ActivationRequest],
    ) -> Vec<Result<ActivationReceipt, String>> {
        requests.iter().map(|r| self.create_activation(r)).collect()
    }

    /// Activations an earlier run of this decomposition created, whose receipts
    /// come from its checkpoint: a sink that anchors the stage to what it holds
    /// (the ledger) notes them, so a resumed run's manifest equals an
    /// uninterrupted one's.
    fn recall(&mut self, _requests: &[ActivationRequest]) -> Result<(), String> {
        Ok(())
    }
}

/// The ledger ref of a task whose draft ref a task of another mandate already
/// holds (the same Duke won both): the draft ref with the mandate's short tag,
/// `TASK-GREM-001a` → `TASK-GREM-001a-433d7e16` for `mandate-433d7e16-…`.
pub fn qualified_task_ref(task_ref: &str, mandate_id: &str) -> String {
    let id = mandate_id.strip_prefix("mandate-").unwrap_or(mandate_id);
    let tag: String = id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    format!("{task_ref}-{tag}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_refs_carry_the_mandate_tag() {
        assert_eq!(
            qualified_task_ref("TASK-GREM-001a", "mandate-433d7e16-af8f-40b5"),
            "TASK-GREM-001a-433d7e16"
        );
        assert_eq!(
            qualified_task_ref("TASK-A-001b", "m/../x"),
            "TASK-A-001b-mx"
        );
    }
}
