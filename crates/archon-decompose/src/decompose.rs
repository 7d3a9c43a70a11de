//! Decomposing one tactic into task drafts (spec 4, step B), with checkpoints.
//!
//! Simulation: one Earl answers with the spec's two deterministic tasks.
//! Multi-Earl: every Earl decomposes independently (side by side, each answer
//! checkpointed as it arrives),
//! then the facilitator synthesises their work. Failed or empty Earls are
//! skipped and recorded as votes; with no Earl left the tactic has no drafts.

use archon_core::agent_port::{AgentFailure, Agents, Ask, CallRecord};
use archon_core::roster::Archon;
use archon_core::seed::{sha256_hex, Seed};

use crate::checkpoint::{self, Cached, CheckpointStore};
use crate::context::DecompositionContext;
use crate::earls::Facilitator;
use crate::model::{EarlVote, TaskDraft};
use crate::questions::{
    EarlDecompositionQuestion, EarlProposal, EarlSynthesisQuestion, ProposedTask,
};
use crate::tactics::is_tactic_id;
use crate::{DecomposeError, Progress};

/// How tactics are decomposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecompositionMode {
    Simulation,
    MultiEarl,
}

impl DecompositionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DecompositionMode::Simulation => "simulation",
            DecompositionMode::MultiEarl => "multi_earl",
        }
    }
}

/// The result of decomposing one tactic.
pub struct Decomposed {
    /// The drafts (before lint); `Err` when the decomposition itself failed.
    pub drafts: Result<Vec<TaskDraft>, String>,
    /// Why there are no drafts, when there are none.
    pub empty_reason: String,
    pub votes: Vec<EarlVote>,
    pub from_checkpoint: bool,
    pub calls: Vec<CallRecord>,
}

/// What decomposition needs besides the tactic.
pub struct Decomposer<'a> {
    pub mode: DecompositionMode,
    pub seed: Seed,
    pub agents: &'a Agents,
    pub earls: &'a [&'a Archon],
    pub checkpoints: &'a mut dyn CheckpointStore,
    pub progress: &'a mut dyn FnMut(Progress<'_>),
    /// Every tactic id of the proposal (dependencies may name their tasks).
    pub tactic_ids: &'a [String],
}

/// `a`, `b`, … `z`, `aa`, `ab`, …
pub fn ref_suffix(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

impl Decomposer<'_> {
    fn note(&mut self, text: String) {
        (self.progress)(Progress::Note(&text));
    }

    fn input_hash(&self, ctx: &DecompositionContext) -> String {
        let key =
            serde_json::json!({ "context": ctx, "mode": self.mode.as_str(), "seed": self.seed.0 });
        sha256_hex(key.to_string())
    }

    fn save<T: serde::Serialize>(
        &mut self,
        name: &str,
        ctx: &DecompositionContext,
        hash: &str,
        content: T,
        what: &str,
    ) -> Result<(), DecomposeError> {
        let bytes = checkpoint::encode(&ctx.tactic.tactic_id, hash, content);
        let saved =
            self.checkpoints
                .save(name, &bytes)
                .map_err(|message| DecomposeError::Checkpoint {
                    name: name.to_string(),
                    message,
                })?;
        if saved {
            self.note(format!("    [checkpoint] saved {name}{what}"));
        }
        Ok(())
    }

    fn cached<T: serde::de::DeserializeOwned>(&mut self, name: &str, hash: &str) -> Option<T> {
        match checkpoint::read(&*self.checkpoints, name, hash) {
            Cached::Hit(v) => Some(v),
            Cached::Miss => None,
            Cached::Ignored(why) => {
                self.note(format!("    [checkpoint] ignored {name}: {why}"));
                None
            }
        }
    }

    /// Decomposes one tactic; `Err` only when a checkpoint cannot be written.
    pub fn decompose(
        &mut self,
        ctx: &DecompositionContext,
        facilitator: &Facilitator<'_>,
    ) -> Result<Decomposed, DecomposeError> {
        let hash = self.input_hash(ctx);
        let name = checkpoint::task_drafts_name(&ctx.tactic.tactic_id);
        // Spec 8: a tactic is skipped only if its checkpoint is found and its drafts
        // pass lint; otherwise that tactic alone is asked again.
        let cached = self
            .cached::<Vec<TaskDraft>>(&name, &hash)
            .filter(|drafts| {
                let clean = all_pass_lint(drafts);
                if !clean {
                    self.note(format!(
                        "    [checkpoint] ignored {name}: its drafts fail lint; asking again"
                    ));
                }
                clean
            });
        if let Some(drafts) = cached {
            self.note(format!("    [checkpoint] loaded {name}"));
            let votes_name = checkpoint::earl_votes_name(&ctx.tactic.tactic_id);
            let votes = match self.mode {
                DecompositionMode::MultiEarl => self.cached(&votes_name, &hash).unwrap_or_default(),
                DecompositionMode::Simulation => Vec::new(),
            };
            return Ok(Decomposed {
                drafts: Ok(drafts),
                empty_reason: "the checkpoint holds no drafts".into(),
                votes,
                from_checkpoint: true,
                calls: Vec::new(),
            });
        }
        let mut out = match self.mode {
            DecompositionMode::Simulation => self.single(ctx, facilitator.archon),
            DecompositionMode::MultiEarl => self.multi_earl(ctx, &hash, facilitator)?,
        };
        // The Earls' calls (kept apart, in Earl order) come before the rest.
        out.calls.extend(self.agents.take_calls());
        // Drafts that fail lint are never checkpointed: a rerun asks for them again.
        if let Ok(drafts) = &out.drafts {
            if !drafts.is_empty() && all_pass_lint(drafts) {
                self.save(&name, ctx, &hash, drafts, "")?;
            }
        }
        Ok(out)
    }

    fn single(&mut self, ctx: &DecompositionContext, earl: &Archon) -> Decomposed {
        let asks = [Ask {
            archon: earl,
            question: EarlDecompositionQuestion {
                context: ctx.clone(),
            },
        }];
        let answer = self.agents.ask_all(&asks).into_iter().next();
        let drafts = match answer {
            Some(Ok(a)) => Ok(self.drafts(ctx, a.tasks.into_iter().map(|t| (t, None)))),
            Some(Err(f)) => Err(f.to_string()),
            None => Err("the agent port returned no answer".into()),
        };
        Decomposed {
            drafts,
            empty_reason: format!("Earl {} proposed no tasks", earl.name),
            votes: Vec::new(),
            from_checkpoint: false,
            calls: Vec::new(),
        }
    }

    fn multi_earl(
        &mut self,
        ctx: &DecompositionContext,
        hash: &str,
        facilitator: &Facilitator<'_>,
    ) -> Result<Decomposed, DecomposeError> {
        let tid = ctx.tactic.tactic_id.clone();
        let earls = self.earls;
        let mut proposals: Vec<Option<Vec<ProposedTask>>> = Vec::with_capacity(earls.len());
        let mut missing: Vec<usize> = Vec::new();
        for (i, earl) in earls.iter().enumerate() {
            let name = checkpoint::earl_name(&tid, &earl.name);
            let cached: Option<Vec<ProposedTask>> = self.cached(&name, hash);
            match cached {
                Some(tasks) => {
                    self.note(format!(
                        "    [checkpoint] loaded {name} ({} tasks)",
                        tasks.len()
                    ));
                    proposals.push(Some(tasks));
                }
                None => {
                    self.note(format!(
                        "  [earl] {} decomposing {tid} ({})...",
                        earl.name, earl.llm_config.model
                    ));
                    proposals.push(None);
                    missing.push(i);
                }
            }
        }
        let (answers, earl_calls) = self.ask_earls_checkpointing_each(ctx, hash, &missing)?;
        let mut failures: Vec<(usize, String)> = Vec::new();
        for (&i, (answer, saved)) in missing.iter().zip(answers) {
            let Some(earl) = earls.get(i) else { continue };
            match answer {
                Ok(tasks) if !tasks.is_empty() => {
                    if saved {
                        let name = checkpoint::earl_name(&tid, &earl.name);
                        self.note(format!(
                            "    [checkpoint] saved {name} ({} tasks)",
                            tasks.len()
                        ));
                    }
                    if let Some(slot) = proposals.get_mut(i) {
                        *slot = Some(tasks);
                    }
                }
                Ok(_) => failures.push((i, "empty response".into())),
                Err(AgentFailure { reason, .. }) => failures.push((i, reason)),
            }
        }
        for (i, reason) in &failures {
            if let Some(earl) = earls.get(*i) {
                self.note(format!("    [earl] {}: {reason} (skipping)", earl.name));
            }
        }
        let votes: Vec<EarlVote> = earls
            .iter()
            .zip(&proposals)
            .enumerate()
            .map(|(i, (earl, p))| EarlVote {
                earl_name: earl.name.clone(),
                earl_id: earl.id.clone(),
                task_count: p.as_ref().map_or(0, Vec::len),
                succeeded: p.is_some(),
                failure_reason: failures
                    .iter()
                    .find(|(j, _)| *j == i)
                    .map(|(_, r)| r.clone())
                    .unwrap_or_default(),
            })
            .collect();
        self.save(&checkpoint::earl_votes_name(&tid), ctx, hash, &votes, "")?;
        let contributions: Vec<EarlProposal> = earls
            .iter()
            .zip(proposals)
            .filter_map(|(earl, p)| {
                p.map(|tasks| EarlProposal {
                    earl_name: earl.name.clone(),
                    tasks,
                })
            })
            .collect();
        if contributions.is_empty() {
            return Ok(Decomposed {
                drafts: Ok(Vec::new()),
                empty_reason: format!("all {} Earls failed or answered empty", earls.len()),
                votes,
                from_checkpoint: false,
                calls: earl_calls,
            });
        }
        let fac = facilitator.archon;
        self.note(format!(
            "  [synthesis] Facilitator: Earl {} ({})",
            fac.name, facilitator.reason
        ));
        self.note(format!(
            "  [synthesis] Merging {}/{} Earl decompositions...",
            contributions.len(),
            earls.len()
        ));
        let names: Vec<String> = contributions.iter().map(|c| c.earl_name.clone()).collect();
        let asks = [Ask {
            archon: fac,
            question: EarlSynthesisQuestion {
                context: ctx.clone(),
                proposals: contributions,
                earls_asked: earls.len(),
            },
        }];
        let drafts = match self.agents.ask_all(&asks).into_iter().next() {
            Some(Ok(s)) => Ok(self.drafts(
                ctx,
                s.tasks.into_iter().map(|t| {
                    let credited = credited_earls(&t.contributing_earls, &names);
                    (t.task, Some(credited))
                }),
            )),
            Some(Err(f)) => Err(format!(
                "synthesis by Earl {} failed: {}",
                fac.name, f.reason
            )),
            None => Err("the agent port returned no synthesis".into()),
        };
        Ok(Decomposed {
            drafts,
            empty_reason: format!("facilitator Earl {} synthesised no tasks", fac.name),
            votes,
            from_checkpoint: false,
            calls: earl_calls,
        })
    }

    /// Asks the Earls at `missing` side by side, each on its own thread, and
    /// checkpoints each Earl's answer the moment it arrives: a run killed while
    /// one Earl hangs keeps the answers of the others. Each Earl's call records
    /// are kept apart and joined in Earl order, so the records do not depend on
    /// which Earl answered first. Per Earl: its tasks (or failure) and whether
    /// its checkpoint was written.
    #[allow(clippy::type_complexity)]
    fn ask_earls_checkpointing_each(
        &mut self,
        ctx: &DecompositionContext,
        hash: &str,
        missing: &[usize],
    ) -> Result<
        (
            Vec<(Result<Vec<ProposedTask>, AgentFailure>, bool)>,
            Vec<CallRecord>,
        ),
        DecomposeError,
    > {
        let tid = &ctx.tactic.tactic_id;
        let agents = self.agents;
        let earls = self.earls;
        let store = std::sync::Mutex::new(&mut *self.checkpoints);
        let asked: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = missing
                .iter()
                .filter_map(|&i| earls.get(i).copied())
                .map(|earl| {
                    let store = &store;
                    scope.spawn(move || {
                        let fork = agents.fork();
                        let asks = [Ask {
                            archon: earl,
                            question: EarlDecompositionQuestion {
                                context: ctx.clone(),
                            },
                        }];
                        let answer = fork.ask_all(&asks).pop().unwrap_or_else(|| {
                            Err(AgentFailure {
                                archon_id: earl.id.clone(),
                                archon_name: earl.name.clone(),
                                kind: "earl_decomposition".into(),
                                attempts: 0,
                                reason: "the agent port returned no answer".into(),
                            })
                        });
                        let answer = answer.map(|a| a.tasks);
                        let saved = match &answer {
                            Ok(tasks) if !tasks.is_empty() => {
                                let name = checkpoint::earl_name(tid, &earl.name);
                                let bytes = checkpoint::encode(tid, hash, tasks);
                                store
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .save(&name, &bytes)
                                    .map_err(|message| DecomposeError::Checkpoint { name, message })
                            }
                            _ => Ok(false),
                        };
                        (answer, saved, fork.take_calls())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        (
                            Err(AgentFailure {
                                archon_id: String::new(),
                                archon_name: String::new(),
                                kind: "earl_decomposition".into(),
                                attempts: 0,
                                reason: "the Earl's ask panicked".into(),
                            }),
                            Ok(false),
                            Vec::new(),
                        )
                    })
                })
                .collect()
        });
        let mut out = Vec::with_capacity(asked.len());
        let mut all_calls = Vec::new();
        for (answer, saved, calls) in asked {
            all_calls.extend(calls);
            out.push((answer, saved?));
        }
        Ok((out, all_calls))
    }

    /// Turns proposed tasks into drafts: refs by position, the tactic's
    /// provenance, and only dependencies that can name a real task.
    fn drafts(
        &self,
        ctx: &DecompositionContext,
        tasks: impl Iterator<Item = (ProposedTask, Option<Vec<String>>)>,
    ) -> Vec<TaskDraft> {
        let tasks: Vec<_> = tasks.collect();
        let refs: Vec<String> = (0..tasks.len())
            .map(|i| format!("{}{}", ctx.task_ref_prefix, ref_suffix(i)))
            .collect();
        tasks
            .into_iter()
            .zip(&refs)
            .map(|((t, credited), task_ref)| {
                let mut dependencies: Vec<String> = Vec::new();
                for d in t.dependencies {
                    let d = d.trim().to_string();
                    if d != *task_ref
                        && self.names_a_task(&d, &ctx.task_ref_prefix, &refs)
                        && !dependencies.contains(&d)
                    {
                        dependencies.push(d);
                    }
                }
                TaskDraft {
                    task_ref: task_ref.clone(),
                    parent_tactic_id: ctx.tactic.tactic_id.clone(),
                    rfp_id: ctx.rfp_id.clone(),
                    mandate_id: ctx.mandate_id.clone(),
                    proposal_id: ctx.proposal_id.clone(),
                    description: t.description,
                    requirements: t.requirements,
                    expected_outcomes: t.expected_outcomes,
                    capability_tags: t
                        .capability_tags
                        .iter()
                        .map(|c| c.as_str().to_string())
                        .collect(),
                    effort_hours: t.effort_hours,
                    deliverable_id: ctx.tactic.deliverable_id.clone().unwrap_or_default(),
                    dependencies,
                    sensitivity: t.sensitivity,
                    vote_count: credited.as_ref().map(|c| c.len() as u32),
                    contributing_earls: credited,
                }
            })
            .collect()
    }

    /// A sibling's ref, or a task ref of another tactic of the proposal.
    fn names_a_task(&self, dep: &str, own_prefix: &str, siblings: &[String]) -> bool {
        let Some(rest) = dep.strip_prefix("TASK-") else {
            return false;
        };
        let tactic = format!(
            "T-{}",
            rest.trim_end_matches(|c: char| c.is_ascii_lowercase())
        );
        if tactic.len() == rest.len() + 2 || !is_tactic_id(&tactic) {
            return false;
        }
        if format!("TASK-{}", &tactic[2..]) == own_prefix {
            siblings.iter().any(|s| s == dep)
        } else {
            self.tactic_ids.contains(&tactic)
        }
    }
}

/// The facilitator's credits, kept only for Earls that did contribute, under
/// their roster names, without repeats.
fn all_pass_lint(drafts: &[TaskDraft]) -> bool {
    drafts
        .iter()
        .all(|d| crate::lint::lint_task_draft(d).is_empty())
}

fn credited_earls(claimed: &[String], contributors: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in claimed {
        let c = c.trim().trim_start_matches("Earl ").trim();
        if let Some(name) = contributors.iter().find(|n| n.eq_ignore_ascii_case(c)) {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        let s: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 701, 702]
            .iter()
            .map(|&i| ref_suffix(i))
            .collect();
        assert_eq!(s, ["a", "b", "z", "aa", "ab", "az", "ba", "zz", "aaa"]);
    }

    #[test]
    fn credits_only_real_contributors() {
        let c = credited_earls(
            &[
                "Earl raum".into(),
                "Raum".into(),
                "Zagan".into(),
                " Marax ".into(),
            ],
            &["Raum".into(), "Marax".into()],
        );
        assert_eq!(c, ["Raum", "Marax"]);
    }
}
