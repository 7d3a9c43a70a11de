//! The agent delegate: each phase is a [`DelegateQuestion`] asked through the
//! agent port, answered with file contents and evidence; the execution function
//! writes the files. With the simulated backend this is the `simulation`
//! delegate (deterministic, from the question alone); with an LLM backend, `llm`.

use archon_core::agent_port::{Agents, Ask, CallRecord, Question, SimContext};
use archon_core::ids::slug;
use archon_core::roster::Archon;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::delegate::{
    Delegate, DelegateFailure, OutcomeCheck, Phase, PhaseRequest, PhaseWork, Verification,
    WorkspaceFile,
};

/// One phase of work asked of the delegate.
#[derive(Debug, Clone, Serialize)]
pub struct DelegateQuestion {
    /// The assembled SKILL.md the delegate works under.
    pub doctrine: String,
    pub phase: Phase,
    pub step: u8,
    pub role: String,
    pub task_ref: String,
    pub description: String,
    pub requirements: Vec<String>,
    pub expected_outcomes: Vec<String>,
    pub prior_files: Vec<WorkspaceFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DelegateAnswer {
    /// Files to write into the workspace (relative paths, full contents).
    pub files: Vec<WorkspaceFile>,
    pub evidence: Vec<String>,
    pub verification: Verification,
    /// One verdict per expected outcome, in their numbered order (validation
    /// only; empty otherwise). The engine pairs each with its outcome: the
    /// model is never asked to copy an outcome's text back.
    #[schemars(extend("x-archon-listed" = true))]
    pub outcome_checks: Vec<OutcomeVerdict>,
}

/// The validator's verdict on the expected outcome of the same position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OutcomeVerdict {
    pub passed: bool,
    pub notes: String,
}

/// The checks of `verdicts`, each paired with the expected outcome of its
/// position; verdicts past the last outcome are dropped (an outcome without
/// one is judged unchecked).
fn paired(expected: &[String], verdicts: Vec<OutcomeVerdict>) -> Vec<OutcomeCheck> {
    expected
        .iter()
        .zip(verdicts)
        .map(|(outcome, v)| OutcomeCheck {
            expected_outcome: outcome.clone(),
            passed: v.passed,
            notes: v.notes,
        })
        .collect()
}

impl Question for DelegateQuestion {
    type Answer = DelegateAnswer;
    const KIND: &'static str = "execute_delegate";
    const TEMPLATE: &'static str = include_str!("delegate.j2");

    fn simulate(&self, _ctx: &SimContext<'_>) -> DelegateAnswer {
        match self.phase {
            Phase::TestImplementation => self.simulate_tests(),
            Phase::Implementation => self.simulate_implementation(),
            Phase::Validation => self.simulate_validation(),
        }
    }
}

impl DelegateQuestion {
    fn tests_path(&self) -> String {
        format!("tests/{}/acceptance.md", slug(&self.task_ref))
    }

    fn implementation_path(&self) -> String {
        format!("work/{}/implementation.md", slug(&self.task_ref))
    }

    fn prior(&self, path: &str) -> Option<&str> {
        self.prior_files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.content.as_str())
    }

    fn simulate_tests(&self) -> DelegateAnswer {
        let mut text = format!(
            "# Acceptance tests: {}\n\nEach test checks one expected outcome of the task.\n\n",
            self.task_ref
        );
        for (i, outcome) in self.expected_outcomes.iter().enumerate() {
            text.push_str(&format!(
                "- AT-{n}: {outcome}\n  - Check: the implementation states how it satisfies AT-{n}.\n",
                n = i + 1
            ));
        }
        DelegateAnswer {
            files: vec![WorkspaceFile {
                path: self.tests_path(),
                content: text,
            }],
            evidence: vec![format!(
                "wrote {} acceptance test(s) to {}",
                self.expected_outcomes.len(),
                self.tests_path()
            )],
            verification: Verification {
                passed: !self.expected_outcomes.is_empty(),
                notes: format!(
                    "{} acceptance test(s), one per expected outcome",
                    self.expected_outcomes.len()
                ),
            },
            outcome_checks: Vec::new(),
        }
    }

    fn simulate_implementation(&self) -> DelegateAnswer {
        let tests = self.prior(&self.tests_path()).unwrap_or_default();
        let test_ids: Vec<&str> = tests
            .lines()
            .filter_map(|l| l.strip_prefix("- "))
            .filter_map(|l| l.split_once(':').map(|(id, _)| id))
            .filter(|id| id.starts_with("AT-"))
            .collect();
        if test_ids.is_empty() {
            return DelegateAnswer {
                files: Vec::new(),
                evidence: vec![format!("{} has no acceptance tests", self.tests_path())],
                verification: Verification {
                    passed: false,
                    notes: "no acceptance tests to implement against".into(),
                },
                outcome_checks: Vec::new(),
            };
        }
        let mut text = format!(
            "# Implementation: {}\n\n{}\n\n## Requirements\n\n",
            self.task_ref, self.description
        );
        for r in &self.requirements {
            text.push_str(&format!(
                "- {r}: addressed by the acceptance coverage below.\n"
            ));
        }
        text.push_str("\n## Acceptance coverage\n\n");
        for (id, outcome) in test_ids.iter().zip(&self.expected_outcomes) {
            text.push_str(&format!("- {id} satisfied: {outcome}\n"));
        }
        DelegateAnswer {
            files: vec![WorkspaceFile {
                path: self.implementation_path(),
                content: text,
            }],
            evidence: vec![format!(
                "implemented against {} acceptance test(s) from {}",
                test_ids.len(),
                self.tests_path()
            )],
            verification: Verification {
                passed: true,
                notes: format!(
                    "{} requirement(s) addressed, {} acceptance test(s) covered",
                    self.requirements.len(),
                    test_ids.len()
                ),
            },
            outcome_checks: Vec::new(),
        }
    }

    fn simulate_validation(&self) -> DelegateAnswer {
        let tests = self.prior(&self.tests_path()).unwrap_or_default();
        let implementation = self.prior(&self.implementation_path()).unwrap_or_default();
        let checks: Vec<OutcomeCheck> = self
            .expected_outcomes
            .iter()
            .enumerate()
            .map(|(i, outcome)| {
                let id = format!("AT-{}", i + 1);
                let tested = tests.lines().any(|l| l == format!("- {id}: {outcome}"));
                let covered = implementation
                    .lines()
                    .any(|l| l.starts_with(&format!("- {id} satisfied:")));
                let notes = match (tested, covered) {
                    (true, true) => format!("{id} present and covered by the implementation"),
                    (false, _) => format!("no acceptance test {id} for this outcome"),
                    (true, false) => format!("{id} not covered by the implementation"),
                };
                OutcomeCheck {
                    expected_outcome: outcome.clone(),
                    passed: tested && covered,
                    notes,
                }
            })
            .collect();
        let met = checks.iter().filter(|c| c.passed).count();
        let mut summary = format!("# Validation: {}\n\n", self.task_ref);
        for c in &checks {
            let verdict = if c.passed { "passed" } else { "failed" };
            summary.push_str(&format!(
                "- {verdict}: {} ({})\n",
                c.expected_outcome, c.notes
            ));
        }
        DelegateAnswer {
            files: vec![WorkspaceFile {
                path: format!("work/{}/validation.md", slug(&self.task_ref)),
                content: summary,
            }],
            evidence: vec![format!(
                "checked {} expected outcome(s) against {} and {}",
                checks.len(),
                self.tests_path(),
                self.implementation_path()
            )],
            verification: Verification {
                passed: met == checks.len(),
                notes: format!("{met}/{} expected outcome(s) met", checks.len()),
            },
            outcome_checks: checks
                .into_iter()
                .map(|c| OutcomeVerdict {
                    passed: c.passed,
                    notes: c.notes,
                })
                .collect(),
        }
    }
}

/// Delegates every phase to one archon through the agent port.
pub struct AgentDelegate<'a> {
    agents: &'a Agents,
    archon: &'a Archon,
    doctrine: String,
    /// Every call record, kept for the caller's accounting (`agent_calls.jsonl`).
    calls: std::sync::Mutex<Vec<CallRecord>>,
}

impl<'a> AgentDelegate<'a> {
    pub fn new(agents: &'a Agents, archon: &'a Archon, doctrine: String) -> AgentDelegate<'a> {
        AgentDelegate {
            agents,
            archon,
            doctrine,
            calls: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The records of every model call this delegate made, in order.
    pub fn call_records(&self) -> Vec<CallRecord> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Delegate for AgentDelegate<'_> {
    fn kind(&self) -> &'static str {
        if self.agents.backend_name() == "simulation" {
            "simulation"
        } else {
            "llm"
        }
    }

    fn server_failed(&self) -> Option<String> {
        self.agents.server_failed().err().map(|e| e.0)
    }

    fn perform(&self, request: &PhaseRequest<'_>) -> Result<PhaseWork, DelegateFailure> {
        let h = request.handoff;
        let question = DelegateQuestion {
            doctrine: self.doctrine.clone(),
            phase: request.phase,
            step: request.phase.step(),
            role: request.phase.role().into(),
            task_ref: h.task_ref.clone(),
            description: h.description.clone(),
            requirements: h.requirements.clone(),
            expected_outcomes: h.expected_outcomes.clone(),
            prior_files: request.prior_files.to_vec(),
        };
        let answer = self
            .agents
            .ask_all(&[Ask {
                archon: self.archon,
                question,
            }])
            .pop();
        let records = self.agents.take_calls();
        if let Ok(mut kept) = self.calls.lock() {
            kept.extend(records.iter().cloned());
        }
        let calls: Vec<String> = records
            .iter()
            .map(|c| {
                format!(
                    "{} answered by {} ({}, attempt {}, {}, {}+{} tokens)",
                    c.kind,
                    c.archon_name,
                    c.model,
                    c.attempt,
                    c.outcome,
                    c.prompt_tokens,
                    c.completion_tokens
                )
            })
            .collect();
        match answer {
            Some(Ok(answer)) => {
                let mut evidence = answer.evidence;
                evidence.extend(calls);
                Ok(PhaseWork {
                    writes: answer.files,
                    evidence,
                    verification: answer.verification,
                    outcome_checks: paired(&h.expected_outcomes, answer.outcome_checks),
                })
            }
            Some(Err(failure)) => Err(DelegateFailure {
                message: failure.to_string(),
                evidence: calls,
            }),
            None => Err(DelegateFailure {
                message: "the agent port returned no answer".into(),
                evidence: calls,
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn template_compiles() {
        archon_core::agent_port::check_template(DelegateQuestion::KIND, DelegateQuestion::TEMPLATE)
            .unwrap();
    }
}
