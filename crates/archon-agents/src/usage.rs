//! Usage accounting: totals of model calls per stage, per archon and per model
//! (and cost, where a price table is configured), from the `CallRecord`s the
//! stages write to `agent_calls.jsonl`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use archon_core::agent_port::CallRecord;
use archon_store::{EventLog, StoreError};
use serde::Serialize;

use crate::config::Price;

/// The file, in a stage directory, holding one `CallRecord` per line.
pub use archon_core::agent_port::CALLS_FILE;

/// Totals of a group of calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub calls: u64,
    pub ok: u64,
    /// Answers that failed validation (each was re-asked or became a failure).
    pub invalid: u64,
    /// Calls that produced no answer (after the backend's retries).
    pub failed: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub latency_ms: u64,
    /// Present when at least one call of the group has a configured price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

impl Totals {
    fn add(&mut self, call: &CallRecord, cost: Option<f64>) {
        self.calls += 1;
        match call.outcome.as_str() {
            "ok" => self.ok += 1,
            "invalid" => self.invalid += 1,
            _ => self.failed += 1,
        }
        self.prompt_tokens += call.prompt_tokens;
        self.completion_tokens += call.completion_tokens;
        self.latency_ms += call.latency_ms;
        if let Some(c) = cost {
            *self.cost.get_or_insert(0.0) += c;
        }
    }
}

/// Totals per stage, archon and model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageReport {
    /// The call files read, relative to the scanned directory, in order.
    pub files: Vec<String>,
    pub total: Totals,
    pub by_stage: BTreeMap<String, Totals>,
    pub by_archon: BTreeMap<String, Totals>,
    pub by_model: BTreeMap<String, Totals>,
    /// Models that used tokens but have no entry in the price table.
    pub unpriced_models: BTreeSet<String>,
}

impl UsageReport {
    pub fn add(&mut self, stage: &str, call: &CallRecord, prices: &BTreeMap<String, Price>) {
        let cost = prices.get(&call.model).map(|p| {
            call.prompt_tokens as f64 / 1000.0 * p.prompt_per_1k
                + call.completion_tokens as f64 / 1000.0 * p.completion_per_1k
        });
        let used_tokens = call.prompt_tokens + call.completion_tokens > 0;
        if cost.is_none() && !prices.is_empty() && used_tokens {
            self.unpriced_models.insert(call.model.clone());
        }
        self.total.add(call, cost);
        for (group, name) in [
            (&mut self.by_stage, stage),
            (&mut self.by_archon, call.archon_name.as_str()),
            (&mut self.by_model, call.model.as_str()),
        ] {
            group.entry(name.to_string()).or_default().add(call, cost);
        }
    }
}

/// The totals of one stage's calls (for its summary).
pub fn totals(calls: &[CallRecord], prices: &BTreeMap<String, Price>) -> Totals {
    let mut report = UsageReport::default();
    for call in calls {
        report.add("", call, prices);
    }
    report.total
}

/// Reads every `agent_calls.jsonl` under `dir` (in path order). A file's stage
/// is the `stage` of the `stage_manifest.json` beside it, or else the name of
/// the folder above it (`execute/<task>/`, or a stage that did not complete).
pub fn scan(dir: &Path, prices: &BTreeMap<String, Price>) -> Result<UsageReport, StoreError> {
    if !dir.is_dir() {
        return Err(StoreError::Invalid {
            path: dir.to_path_buf(),
            message: "not a directory".into(),
        });
    }
    let mut files = Vec::new();
    find_call_files(dir, &mut files)?;
    let mut report = UsageReport::default();
    for file in files {
        let stage_dir = file.parent().unwrap_or(dir);
        let stage = match archon_store::artifact_dir::read_manifest(stage_dir)? {
            Some(manifest) => manifest.stage,
            // No manifest: an execution (`execute/<task>/`) or an interrupted
            // stage (`review/<session>/`): the folder above names the stage.
            None => stage_dir
                .parent()
                .and_then(Path::file_name)
                .or_else(|| stage_dir.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| ".".into()),
        };
        for call in EventLog::read_all::<CallRecord>(&file)? {
            report.add(&stage, &call, prices);
        }
        let shown = file.strip_prefix(dir).unwrap_or(&file);
        report.files.push(shown.display().to_string());
    }
    Ok(report)
}

/// Depth-first, in name order; symbolic links are not followed (no cycles).
fn find_call_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), StoreError> {
    let mut entries = std::fs::read_dir(dir)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| StoreError::io(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| StoreError::io(&path, e))?;
        if kind.is_dir() {
            find_call_files(&path, out)?;
        } else if kind.is_file() && entry.file_name() == CALLS_FILE {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use archon_core::agent_port::AnswerSource;

    fn call(archon: &str, model: &str, outcome: &str, p: u64, c: u64) -> CallRecord {
        CallRecord {
            kind: "k".into(),
            archon_id: format!("id-{archon}"),
            archon_name: archon.into(),
            model: model.into(),
            attempt: 0,
            outcome: outcome.into(),
            error: None,
            prompt_tokens: p,
            completion_tokens: c,
            usage_estimated: false,
            latency_ms: 10,
            source: AnswerSource::Live,
        }
    }

    fn write_calls(dir: &Path, calls: &[CallRecord]) {
        let mut log = EventLog::open(&dir.join(CALLS_FILE)).unwrap();
        for c in calls {
            log.append(c).unwrap();
        }
    }

    #[test]
    fn totals_per_stage_archon_model_with_cost() {
        let tmp = tempfile::tempdir().unwrap();
        let review = tmp.path().join("review/s1");
        write_calls(
            &review,
            &[
                call("Bael", "m1", "invalid", 1000, 500),
                call("Bael", "m1", "ok", 1000, 500),
                call("Agares", "m2", "failed", 0, 0),
            ],
        );
        archon_store::write_atomic(
            &review.join("stage_manifest.json"),
            br#"{"schema_version":"1.0","stage":"review","outcome":"complete","input_hash":"h","inputs":{},"files":{},"completed_at":"t"}"#,
        )
        .unwrap();
        // Without a manifest (an execution's folder), the folder above names the stage.
        let task = tmp.path().join("execute/TASK-1");
        write_calls(&task, &[call("Agares", "m3", "ok", 10, 10)]);
        let prices = BTreeMap::from([(
            "m1".to_string(),
            Price {
                prompt_per_1k: 0.5,
                completion_per_1k: 2.0,
            },
        )]);
        let r = scan(tmp.path(), &prices).unwrap();
        assert_eq!(
            r.files,
            [
                "execute/TASK-1/agent_calls.jsonl",
                "review/s1/agent_calls.jsonl"
            ]
        );
        assert_eq!(r.by_stage.keys().collect::<Vec<_>>(), ["execute", "review"]);
        let review = &r.by_stage["review"];
        assert_eq!(
            (review.calls, review.ok, review.invalid, review.failed),
            (3, 1, 1, 1)
        );
        assert_eq!(review.cost, Some(3.0));
        assert_eq!(r.by_archon["Bael"].prompt_tokens, 2000);
        assert_eq!(r.by_model["m3"].cost, None);
        assert_eq!(r.total.latency_ms, 40);
        assert_eq!(r.unpriced_models.iter().collect::<Vec<_>>(), ["m3"]);
    }

    #[test]
    fn a_corrupt_line_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join(CALLS_FILE),
            "{\"kind\":1}\n{\"also\":\"bad\"}\n",
        )
        .unwrap();
        let e = scan(tmp.path(), &BTreeMap::new()).unwrap_err().to_string();
        assert!(e.contains("agent_calls.jsonl: line 1"), "{e}");
        assert!(scan(&tmp.path().join("nope"), &BTreeMap::new()).is_err());
    }
}
