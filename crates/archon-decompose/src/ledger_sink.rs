//! The governance ledger of `archon-tasks` as the bridge's activation API.
//! A decomposition's activations go to the ledger as one batch: one intent
//! transaction and one outcome transaction for all of them, so a proposal with
//! thousands of tactics costs two fsynced commits, not two per task.

use archon_core::clock::Clock;
use archon_core::fan_out::Turn;
use archon_store::LedgerHead;
use archon_tasks::{Ledger, TaskState};

use crate::activation::{qualified_task_ref, ActivationReceipt, ActivationRequest, ActivationSink};

pub struct LedgerSink<'a> {
    pub ledger: Ledger,
    pub clock: &'a Clock,
    /// Within `archon run`, the mandate's turn: its ledger writes wait for the
    /// earlier mandates', so the ledger reads the same whatever order they end in.
    pub turn: Option<&'a Turn<'a>>,
    /// The latest activation commit of this mandate's tasks: the manifest's
    /// ledger anchor, the same on a resumed run as on an uninterrupted one.
    pub anchor: Option<LedgerHead>,
}

/// What the ledger already holds for a request.
enum Found {
    /// Nothing yet: activate under this ledger ref.
    New(String),
    /// An earlier run made this very activation (of this ref): its answer again.
    Earlier(String, Result<ActivationReceipt, String>),
}

impl LedgerSink<'_> {
    /// Moves the anchor to `task_ref`'s activation commit when that is later.
    fn anchor_at(&mut self, task_ref: &str) -> Result<(), String> {
        let head = self
            .ledger
            .activation_commit(task_ref)
            .map_err(|e| e.to_string())?;
        if head.as_ref().map(|h| h.seq) > self.anchor.as_ref().map(|h| h.seq) {
            self.anchor = head;
        }
        Ok(())
    }

    fn find(&self, r: &ActivationRequest) -> Result<Found, String> {
        // How the ledger records the provenance, to compare with what it holds.
        let recorded_provenance = serde_json::to_value(&r.provenance).map_err(|e| e.to_string())?;
        // Task refs name a Duke's tactics, so the same Duke winning two mandates
        // gives the same refs: the second mandate's tasks are qualified with their
        // mandate (`TASK-GREM-001a-433d7e16`) so that one ledger holds both.
        let qualified = qualified_task_ref(&r.task_ref, &r.provenance.mandate_id);
        for task_ref in [r.task_ref.clone(), qualified] {
            let Some(rec) = self.ledger.task(&task_ref).map_err(|e| e.to_string())? else {
                return Ok(Found::New(task_ref));
            };
            // Idempotent: a rerun finds the activation an earlier run made for the
            // same request and reports it instead of minting another ref, also
            // when that activation was held (a coercion block stays a block).
            let same_text = rec.content.description == r.description
                && rec.content.requirements == r.requirements
                && rec.content.expected_outcomes == r.expected_outcomes;
            if rec.earl_id == r.earl_id && rec.provenance == recorded_provenance {
                match &rec.hold {
                    None => {
                        return Ok(Found::Earlier(
                            rec.task_ref,
                            Ok(ActivationReceipt {
                                activation_id: rec.activation_id,
                                state: rec.state.to_string(),
                            }),
                        ))
                    }
                    Some(hold) if same_text => {
                        return Ok(Found::Earlier(
                            rec.task_ref.clone(),
                            Err(format!(
                                "activation {} left in state {}: {}",
                                rec.activation_id,
                                rec.state,
                                archon_tasks::EventBody::Held { hold: hold.clone() }.describe()
                            )),
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        Err(format!(
            "task {} is held by another activation in this ledger and in this mandate",
            r.task_ref
        ))
    }
}

fn receipt(result: archon_tasks::ActivationResult) -> Result<ActivationReceipt, String> {
    if result.state == TaskState::Routed {
        Ok(ActivationReceipt {
            activation_id: result.activation_id,
            state: result.state.to_string(),
        })
    } else {
        Err(format!(
            "activation {} left in state {}: {}",
            result.activation_id, result.state, result.message
        ))
    }
}

impl ActivationSink for LedgerSink<'_> {
    fn create_activation(&mut self, r: &ActivationRequest) -> Result<ActivationReceipt, String> {
        self.create_activations(std::slice::from_ref(r))
            .pop()
            .unwrap_or_else(|| Err("the ledger returned no activation".into()))
    }

    fn create_activations(
        &mut self,
        requests: &[ActivationRequest],
    ) -> Vec<Result<ActivationReceipt, String>> {
        if let Some(turn) = self.turn {
            turn.wait();
        }
        let mut out: Vec<Option<Result<ActivationReceipt, String>>> =
            requests.iter().map(|_| None).collect();
        let mut batch = Vec::new();
        let mut at = Vec::new();
        let mut activated = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            match self.find(r) {
                Ok(Found::New(task_ref)) => {
                    activated.push(task_ref.clone());
                    batch.push(ActivationRequest {
                        task_ref,
                        ..r.clone()
                    });
                    at.push(i);
                }
                Ok(Found::Earlier(task_ref, result)) => {
                    activated.push(task_ref);
                    out[i] = Some(result);
                }
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        if let Some(first) = batch.first() {
            let actor = format!("earl:{}", first.earl_id);
            let results = self.ledger.create_activations(batch, &actor, self.clock);
            for (i, result) in at.into_iter().zip(results) {
                out[i] = Some(result.map_err(|e| e.to_string()).and_then(receipt));
            }
        }
        for task_ref in activated {
            if let Err(e) = self.anchor_at(&task_ref) {
                return requests.iter().map(|_| Err(e.clone())).collect();
            }
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err("no outcome for the activation".into())))
            .collect()
    }

    fn recall(&mut self, requests: &[ActivationRequest]) -> Result<(), String> {
        for r in requests {
            // A request the ledger does not hold (a checkpoint from another
            // ledger) anchors nothing; `archon verify` then reports the missing task.
            if let Ok(Found::Earlier(task_ref, _)) = self.find(r) {
                self.anchor_at(&task_ref)?;
            }
        }
        Ok(())
    }
}
