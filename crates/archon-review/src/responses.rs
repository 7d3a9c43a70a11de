//! `--responses DIR`: review responses written by people or other tools, one
//! file per archon (`archon-<id>.json`, the shape archon writes into
//! `review_responses/`: an `archon_id` and a `submissions` list of
//! ReviewSubmissions; other fields are ignored). Assignments without a
//! submission are recorded as NO_RESPONSE.

use std::collections::BTreeMap;

use archon_core::input::{from_value, parse_json, InputError, InputErrors};
use archon_core::roster::Roster;
use archon_core::seed::{sha256_hex, Seed};
use serde::Deserialize;

use crate::packets::Assignment;
use crate::review::{ReviewOutcome, ReviewSubmission};
use crate::session::Session;

#[derive(Deserialize)]
struct ResponseFileIn {
    #[serde(default)]
    archon_id: Option<String>,
    submissions: Vec<serde_json::Value>,
}

/// Parsed response files: (archon id, motion id) → (file, submission).
#[derive(Debug, Default)]
pub struct ResponseSet {
    pub dir: String,
    /// Files of the folder whose names do not match the expected pattern.
    pub ignored_files: Vec<String>,
    /// (file name, sha256 of its text): part of the review's input fingerprint.
    pub file_hashes: Vec<(String, String)>,
    entries: BTreeMap<(String, String), (String, usize, ReviewSubmission)>,
}

impl ResponseSet {
    /// Parses `(file name, text)` pairs; problems name the file and JSON path.
    pub fn parse(dir: &str, files: &[(String, String)]) -> Result<ResponseSet, InputErrors> {
        let mut errors = Vec::new();
        let mut entries = BTreeMap::new();
        for (name, text) in files {
            let file_archon = name
                .strip_prefix("archon-")
                .and_then(|n| n.strip_suffix(".json"))
                .unwrap_or("");
            let parsed: ResponseFileIn = match parse_json(name, text) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let archon_id = parsed.archon_id.unwrap_or_else(|| file_archon.to_string());
            if archon_id != file_archon {
                errors.push(InputError::new(
                    name.as_str(),
                    "$.archon_id",
                    format!("archon_id {archon_id:?} does not match the file name {name:?}"),
                ));
                continue;
            }
            for (i, v) in parsed.submissions.iter().enumerate() {
                let base = format!("$.submissions[{i}]");
                match from_value::<ReviewSubmission>(name, &base, v) {
                    Err(e) => errors.push(e),
                    Ok(mut s) => {
                        if s.archon_id.is_empty() {
                            s.archon_id = archon_id.clone();
                        } else if s.archon_id != archon_id {
                            errors.push(InputError::new(
                                name.as_str(),
                                format!("{base}.archon_id"),
                                format!(
                                    "submission of {:?} in the file of {archon_id:?}",
                                    s.archon_id
                                ),
                            ));
                            continue;
                        }
                        let key = (archon_id.clone(), s.mega_motion_id.clone());
                        if entries.contains_key(&key) {
                            errors.push(InputError::new(
                                name.as_str(),
                                format!("{base}.mega_motion_id"),
                                format!("second submission for motion {:?}", s.mega_motion_id),
                            ));
                            continue;
                        }
                        entries.insert(key, (name.clone(), i, s));
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(ResponseSet {
                dir: dir.to_string(),
                ignored_files: Vec::new(),
                file_hashes: files
                    .iter()
                    .map(|(n, t)| (n.clone(), sha256_hex(t)))
                    .collect(),
                entries,
            })
        } else {
            Err(InputErrors(errors))
        }
    }

    /// One outcome per assignment; a submission for an unknown archon or an
    /// unassigned motion is an error.
    pub fn outcomes(
        &self,
        session: &Session,
        roster: &Roster,
        assigned: &[Assignment],
        seed: Seed,
        now: &str,
    ) -> Result<Vec<ReviewOutcome>, InputErrors> {
        let mut used = std::collections::BTreeSet::new();
        let mut out = Vec::with_capacity(assigned.len());
        for a in assigned {
            let (Some(archon), Some(m)) =
                (roster.archons.get(a.archon), session.motions.get(a.motion))
            else {
                continue;
            };
            let key = (archon.id.clone(), m.id.clone());
            match self.entries.get(&key) {
                Some((_, _, s)) => {
                    used.insert(key);
                    out.push(crate::pipeline::judge(s.clone(), archon, seed, now));
                }
                None => out.push(ReviewOutcome::NoResponse {
                    reason: format!("no submission in {}", self.dir),
                }),
            }
        }
        let errors: Vec<InputError> = self
            .entries
            .iter()
            .filter(|(k, _)| !used.contains(*k))
            .map(|((archon, motion), (file, i, _))| {
                let why = if roster.by_id(archon).is_none() {
                    format!("unknown archon {archon:?}: not in the roster")
                } else if session.motions.iter().all(|m| &m.id != motion) {
                    format!("unknown motion {motion:?}: not in this session")
                } else {
                    format!("motion {motion:?} is not assigned to {archon} for review")
                };
                InputError::new(
                    file.as_str(),
                    format!("$.submissions[{i}].mega_motion_id"),
                    why,
                )
            })
            .collect();
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(InputErrors(errors))
        }
    }
}
