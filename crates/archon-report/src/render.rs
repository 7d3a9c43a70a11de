//! The page: a [`RunReport`] and its charts through one HTML template with
//! autoescaping on, so every value from inputs or models stays text.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::chart::{grouped_bars, stacked_bar, GroupedBars, StackedBar};
use crate::model::{RatificationSummary, RunReport};

const TEMPLATE_NAME: &str = "report.html";
const TEMPLATE: &str = include_str!("report.html.j2");
/// Presidents score each dimension out of ten.
const SCORE_MAX: f64 = 10.0;
/// The tier of the proposals the Presidents deliberated on.
const FINALIST: &str = "FINALIST";

#[derive(Debug, thiserror::Error)]
#[error("rendering the report: {0}")]
pub struct RenderError(#[from] minijinja::Error);

/// The cycle at a glance: the counts the page leads with.
#[derive(Debug, Default, Serialize)]
pub struct Glance {
    pub motions: RatificationSummary,
    pub plans: usize,
    pub gates_passed: usize,
    pub mandates: usize,
    pub winners: usize,
    pub tasks: BTreeMap<String, usize>,
    pub task_total: usize,
    /// Tasks the decompositions drafted, and of them those no cluster could take.
    pub drafted: usize,
    pub unroutable: usize,
    pub execution_total: usize,
}

#[derive(Serialize)]
struct Page<'a> {
    run: &'a RunReport,
    glance: Glance,
    stance_bars: BTreeMap<String, StackedBar>,
    before_bars: BTreeMap<String, StackedBar>,
    score_charts: BTreeMap<String, GroupedBars>,
}

/// The whole page, one self-contained HTML document.
pub fn render(run: &RunReport) -> Result<String, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template(TEMPLATE_NAME, TEMPLATE)?;
    let page = Page {
        run,
        glance: glance(run),
        stance_bars: stance_bars(run, false),
        before_bars: stance_bars(run, true),
        score_charts: score_charts(run),
    };
    Ok(env.get_template(TEMPLATE_NAME)?.render(&page)?)
}

pub fn glance(run: &RunReport) -> Glance {
    let mut g = Glance::default();
    for s in run.review.as_read().into_iter().flatten() {
        g.motions.total_motions += s.summary.total_motions;
        g.motions.ratified += s.summary.ratified;
        g.motions.rejected += s.summary.rejected;
        g.motions.deferred += s.summary.deferred;
    }
    for p in run.plans.as_read().into_iter().flatten() {
        g.plans += 1;
        g.gates_passed += usize::from(p.gates.as_read().is_some_and(|g| g.all_passed));
    }
    for m in run.mandates.as_read().into_iter().flatten() {
        g.mandates += 1;
        g.winners += usize::from(m.selection.as_read().and_then(|s| s.winner()).is_some());
        if let Some(d) = m.decomposition.as_read() {
            g.drafted += d.total_task_drafts;
            g.unroutable += d.no_eligible_cluster;
        }
    }
    for t in run.tasks.as_read().into_iter().flatten() {
        *g.tasks.entry(t.state.clone()).or_insert(0) += 1;
        g.task_total += 1;
    }
    g.execution_total = run.executions.values().sum();
    g
}

fn stance_bars(run: &RunReport, before: bool) -> BTreeMap<String, StackedBar> {
    let mut bars = BTreeMap::new();
    for s in run.review.as_read().into_iter().flatten() {
        for m in &s.motions {
            let stances = if before {
                &m.stances_before
            } else {
                &m.stances
            };
            if let Some(st) = stances {
                let parts = [
                    ("endorse", st.endorse),
                    ("oppose", st.oppose),
                    ("amend", st.amend),
                    ("abstain", st.abstain),
                    ("no response", st.no_response),
                ];
                bars.insert(m.motion_id.clone(), stacked_bar(&parts));
            }
        }
    }
    bars
}

fn score_charts(run: &RunReport) -> BTreeMap<String, GroupedBars> {
    let mut charts = BTreeMap::new();
    for m in run.mandates.as_read().into_iter().flatten() {
        let Some(sel) = m.selection.as_read() else {
            continue;
        };
        let finalists: Vec<_> = sel.rankings.iter().filter(|r| r.tier == FINALIST).collect();
        let Some(first) = finalists.first() else {
            continue;
        };
        let dimensions: Vec<String> = first.dimension_means.keys().cloned().collect();
        let series: Vec<(String, Vec<f64>)> = finalists
            .iter()
            .map(|r| {
                let values = dimensions
                    .iter()
                    .map(|d| r.dimension_means.get(d).copied().unwrap_or(0.0))
                    .collect();
                (r.duke_name.clone(), values)
            })
            .collect();
        charts.insert(
            m.mandate_id.clone(),
            grouped_bars(&dimensions, &series, SCORE_MAX),
        );
    }
    charts
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::*;
    use proptest::prelude::*;

    /// A run with one motion, plan, mandate and blocker whose texts are all `text`.
    fn run_with_text(text: &str) -> RunReport {
        let motion = MotionView {
            motion_id: text.into(),
            title: text.into(),
            risk_tier: text.into(),
            outcome: "ratified".into(),
            decided_at: Some(text.into()),
            reason: Some(text.into()),
            review_path: Some(text.into()),
            stances: None,
            stances_before: None,
            route: None,
            amendments: vec![Amendment {
                archon_name: text.into(),
                amendment_type: text.into(),
                amendment_text: text.into(),
            }],
            panel: None,
            vote: None,
            text: vec![TextLine {
                change: "added",
                text: text.into(),
            }],
        };
        let plan = Plan {
            plan_id: text.into(),
            motion_title: text.into(),
            blockers: vec![Blocker {
                description: text.into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        RunReport {
            review: Part::Read(vec![ReviewSession {
                session_id: text.into(),
                summary: RatificationSummary::default(),
                motions: vec![motion],
            }]),
            plans: Part::Read(vec![PlanView {
                motion_id: text.into(),
                plan: Part::Read(plan),
                gates: Part::Unreadable(text.into()),
            }]),
            mandates: Part::Read(vec![MandateView {
                mandate_id: text.into(),
                selection: Part::Read(Selection {
                    reason: text.into(),
                    ..Default::default()
                }),
                decomposition: Part::Read(Decomposition {
                    outcome: text.into(),
                    total_task_drafts: 1,
                    no_eligible_cluster: 1,
                    ..Default::default()
                }),
            }]),
            tasks: Part::Unreadable(text.into()),
            executions: BTreeMap::new(),
            usage: Part::NotRun,
            verification: Verification {
                ok: true,
                ledger: Part::Unreadable(text.into()),
                manifests: Vec::new(),
            },
        }
    }

    proptest! {
        /// Text from inputs never adds markup: the page has as many `<` and `>`
        /// whatever the (non-empty: an empty one hides its element) texts are.
        #[test]
        fn input_text_never_becomes_markup(text in "[<>&\"'a-z /=]{1,40}") {
            let plain = render(&run_with_text("x")).unwrap();
            let page = render(&run_with_text(&text)).unwrap();
            prop_assert_eq!(page.matches('<').count(), plain.matches('<').count());
            prop_assert_eq!(page.matches('>').count(), plain.matches('>').count());
        }
    }
}
