//! The consolidator session: `mega-motions.json`, `novel-proposals.json`, and
//! the motions the pipeline reviews, validated against the roster.

use std::collections::BTreeSet;

use archon_core::ids::safe_component;
use archon_core::input::{parse_json, InputError, InputErrors};
use archon_core::roster::Roster;
use archon_core::seed::sha256_hex;
use serde::{Deserialize, Serialize};

pub const MEGA_MOTIONS_FILE: &str = "mega-motions.json";
pub const NOVEL_PROPOSALS_FILE: &str = "novel-proposals.json";

/// One entry of `mega-motions.json` (fields the pipeline uses; others are ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MegaMotion {
    pub mega_motion_id: String,
    pub title: String,
    pub theme: String,
    pub consolidated_text: String,
    pub source_motion_ids: Vec<String>,
    #[serde(default)]
    pub source_motion_titles: Vec<String>,
    /// Archon names.
    pub all_supporting_archons: Vec<String>,
    #[serde(default)]
    pub unique_archon_count: Option<u32>,
    #[serde(default)]
    pub consensus_tier: Option<String>,
}

/// One entry of `novel-proposals.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NovelProposal {
    pub proposal_id: String,
    pub archon_name: String,
    pub text: String,
    pub category: String,
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// The raw texts of a session directory (the I/O edge reads them).
#[derive(Debug, Clone)]
pub struct SessionTexts {
    pub session_id: String,
    pub mega_motions: String,
    pub novel_proposals: Option<String>,
}

/// How strictly supporters are checked against the roster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    pub include_novel: bool,
    pub allow_unknown_supporters: bool,
}

/// A motion under review: a mega-motion, or a novel proposal turned into one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Motion {
    pub id: String,
    pub title: String,
    pub theme: String,
    pub text: String,
    pub source_motion_ids: Vec<String>,
    pub source_motion_titles: Vec<String>,
    /// Roster ids of the known supporters, in input order.
    pub supporter_ids: Vec<String>,
    /// Supporter names not in the roster (only with `allow_unknown_supporters`).
    pub unknown_supporters: Vec<String>,
    pub keywords: Vec<String>,
    pub is_novel_proposal: bool,
    pub is_constitutional_amendment: bool,
}

/// An input file and the sha256 of its bytes (provenance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceFile {
    pub name: String,
    pub sha256: String,
}

/// A loaded session: its motions and what was noticed while loading.
#[derive(Debug, Clone)]
pub struct Session {
    pub session_id: String,
    pub source_files: Vec<SourceFile>,
    pub motions: Vec<Motion>,
    pub mega_motions_input: usize,
    pub novel_proposals_input: usize,
    /// Warnings (unknown supporters when allowed), each naming file and JSON path.
    pub warnings: Vec<InputError>,
}

/// A motion is a constitutional amendment when its title or theme mentions the
/// constitution ("constitution", "constitutional", …) or its text contains the
/// phrase "constitutional amendment". Such motions need the 48/72 supermajority.
pub fn is_constitutional_amendment(title: &str, theme: &str, text: &str) -> bool {
    let mentions = |s: &str| s.to_lowercase().contains("constitution");
    mentions(title) || mentions(theme) || text.to_lowercase().contains("constitutional amendment")
}

/// Parses and validates a session; every problem is reported with file and JSON path.
pub fn load_session(
    texts: &SessionTexts,
    roster: &Roster,
    options: LoadOptions,
) -> Result<Session, InputErrors> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    if let Err(e) = safe_component(&texts.session_id, "session directory", "name") {
        errors.push(e);
    }
    let megas: Vec<MegaMotion> = parse_json(MEGA_MOTIONS_FILE, &texts.mega_motions)?;
    if megas.is_empty() {
        errors.push(InputError::new(
            MEGA_MOTIONS_FILE,
            "$",
            "the list of mega-motions is empty; there is nothing to review",
        ));
    }
    let novels: Vec<NovelProposal> = match &texts.novel_proposals {
        Some(text) => parse_json(NOVEL_PROPOSALS_FILE, text)?,
        None => Vec::new(),
    };
    let mut seen = BTreeSet::new();
    let mut motions = Vec::new();
    for (i, m) in megas.iter().enumerate() {
        let at = |f: &str| format!("$[{i}].{f}");
        check_id(
            &m.mega_motion_id,
            MEGA_MOTIONS_FILE,
            &at("mega_motion_id"),
            &mut seen,
            &mut errors,
        );
        for (k, field) in [
            ("title", &m.title),
            ("consolidated_text", &m.consolidated_text),
        ] {
            if field.trim().is_empty() {
                errors.push(InputError::new(
                    MEGA_MOTIONS_FILE,
                    at(k),
                    format!("{k} is empty"),
                ));
            }
        }
        let (supporter_ids, unknown) = resolve_supporters(
            &m.all_supporting_archons,
            roster,
            |j| format!("$[{i}].all_supporting_archons[{j}]"),
            MEGA_MOTIONS_FILE,
            options,
            &mut errors,
            &mut warnings,
        );
        motions.push(Motion {
            id: m.mega_motion_id.clone(),
            title: m.title.clone(),
            theme: m.theme.clone(),
            text: m.consolidated_text.clone(),
            source_motion_ids: m.source_motion_ids.clone(),
            source_motion_titles: m.source_motion_titles.clone(),
            supporter_ids,
            unknown_supporters: unknown,
            keywords: Vec::new(),
            is_novel_proposal: false,
            is_constitutional_amendment: is_constitutional_amendment(
                &m.title,
                &m.theme,
                &m.consolidated_text,
            ),
        });
    }
    if options.include_novel {
        for (i, p) in novels.iter().enumerate() {
            let at = |f: &str| format!("$[{i}].{f}");
            check_id(
                &p.proposal_id,
                NOVEL_PROPOSALS_FILE,
                &at("proposal_id"),
                &mut seen,
                &mut errors,
            );
            if p.text.trim().is_empty() {
                errors.push(InputError::new(
                    NOVEL_PROPOSALS_FILE,
                    at("text"),
                    "text is empty",
                ));
            }
            let (supporter_ids, unknown) = resolve_supporters(
                std::slice::from_ref(&p.archon_name),
                roster,
                |_| format!("$[{i}].archon_name"),
                NOVEL_PROPOSALS_FILE,
                options,
                &mut errors,
                &mut warnings,
            );
            let title = format!("Novel Proposal ({}): {}", p.category, headline(&p.text, 8));
            motions.push(Motion {
                id: p.proposal_id.clone(),
                is_constitutional_amendment: is_constitutional_amendment(
                    &title,
                    &p.category,
                    &p.text,
                ),
                title,
                theme: p.category.clone(),
                text: p.text.clone(),
                source_motion_ids: Vec::new(),
                source_motion_titles: Vec::new(),
                supporter_ids,
                unknown_supporters: unknown,
                keywords: p.keywords.clone(),
                is_novel_proposal: true,
            });
        }
    }
    if !errors.is_empty() {
        return Err(InputErrors(errors));
    }
    let mut source_files = vec![SourceFile {
        name: MEGA_MOTIONS_FILE.into(),
        sha256: sha256_hex(&texts.mega_motions),
    }];
    if let Some(n) = &texts.novel_proposals {
        source_files.push(SourceFile {
            name: NOVEL_PROPOSALS_FILE.into(),
            sha256: sha256_hex(n),
        });
    }
    Ok(Session {
        session_id: texts.session_id.clone(),
        source_files,
        motions,
        mega_motions_input: megas.len(),
        novel_proposals_input: novels.len(),
        warnings,
    })
}

fn check_id(
    id: &str,
    source: &str,
    path: &str,
    seen: &mut BTreeSet<String>,
    errors: &mut Vec<InputError>,
) {
    if let Err(e) = safe_component(id, source, path) {
        errors.push(e);
    } else if !seen.insert(id.to_string()) {
        errors.push(InputError::new(
            source,
            path,
            format!("duplicate motion id {id:?}"),
        ));
    }
}

/// Maps supporter names to roster ids; an unknown name is an error, or with
/// `allow_unknown_supporters` a warning (the name is kept on the motion, never dropped).
fn resolve_supporters(
    names: &[String],
    roster: &Roster,
    path_of: impl Fn(usize) -> String,
    source: &str,
    options: LoadOptions,
    errors: &mut Vec<InputError>,
    warnings: &mut Vec<InputError>,
) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for (j, name) in names.iter().enumerate() {
        match roster.by_name(name) {
            Some(a) if !ids.contains(&a.id) => ids.push(a.id.clone()),
            Some(_) => {}
            None => {
                let msg = format!("unknown archon {name:?}: not in the roster");
                if options.allow_unknown_supporters {
                    warnings.push(InputError::new(
                        source,
                        path_of(j),
                        format!("{msg} (not counted as support)"),
                    ));
                    unknown.push(name.clone());
                } else {
                    errors.push(InputError::new(
                        source,
                        path_of(j),
                        format!("{msg} (use --allow-unknown-supporters to continue without it)"),
                    ));
                }
            }
        }
    }
    (ids, unknown)
}

/// The first `n` words of a text, with "..." when cut.
pub fn headline(text: &str, n: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = words.iter().take(n).copied().collect::<Vec<_>>().join(" ");
    if words.len() > n {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::roster;

    fn texts(megas: &str, novels: Option<&str>) -> SessionTexts {
        SessionTexts {
            session_id: "s1".into(),
            mega_motions: megas.into(),
            novel_proposals: novels.map(String::from),
        }
    }

    fn mega(id: &str, supporters: &[&str]) -> serde_json::Value {
        serde_json::json!({"mega_motion_id": id, "title": "T", "theme": "Th",
            "consolidated_text": "SECTION 1", "source_motion_ids": ["s"],
            "all_supporting_archons": supporters})
    }

    #[test]
    fn loads_and_resolves_names() {
        let r = roster();
        let m = serde_json::json!([mega("mm-1", &["Name0", "name1", "Name0"])]).to_string();
        let s = load_session(&texts(&m, None), &r, LoadOptions::default()).unwrap();
        assert_eq!(s.motions[0].supporter_ids, ["id-0", "id-1"]);
    }

    #[test]
    fn unknown_supporter_is_an_error_or_a_warning() {
        let r = roster();
        let m = serde_json::json!([mega("mm-1", &["Name0", "Nobody"])]).to_string();
        let err = load_session(&texts(&m, None), &r, LoadOptions::default()).unwrap_err();
        assert_eq!(err.0[0].path, "$[0].all_supporting_archons[1]");
        assert!(err.0[0].message.contains("Nobody"));
        let opts = LoadOptions {
            allow_unknown_supporters: true,
            ..Default::default()
        };
        let s = load_session(&texts(&m, None), &r, opts).unwrap();
        assert_eq!(s.motions[0].unknown_supporters, ["Nobody"]);
        assert_eq!(s.warnings.len(), 1);
    }

    #[test]
    fn hostile_duplicate_and_empty_inputs_are_refused() {
        let r = roster();
        let m = serde_json::json!([mega("../x", &[]), mega("a", &[]), mega("a", &[])]).to_string();
        let err = load_session(&texts(&m, None), &r, LoadOptions::default()).unwrap_err();
        let paths: Vec<_> = err.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["$[0].mega_motion_id", "$[2].mega_motion_id"]);
        let err = load_session(&texts("[]", None), &r, LoadOptions::default()).unwrap_err();
        assert!(err.0[0].message.contains("empty"));
        let err = load_session(
            &texts(r#"[{"mega_motion_id": 3}]"#, None),
            &r,
            LoadOptions::default(),
        )
        .unwrap_err();
        assert!(
            err.0[0].path.ends_with("[0].mega_motion_id"),
            "{}",
            err.0[0].path
        );
    }

    #[test]
    fn novel_proposals_become_motions_only_when_included() {
        let r = roster();
        let m = serde_json::json!([mega("mm-1", &[])]).to_string();
        let n = serde_json::json!([{"proposal_id": "np-1", "archon_name": "Name3",
            "text": "Use a constitutional amendment to do things", "category": "cross-domain",
            "keywords": ["k"]}])
        .to_string();
        let s = load_session(&texts(&m, Some(&n)), &r, LoadOptions::default()).unwrap();
        assert_eq!((s.motions.len(), s.novel_proposals_input), (1, 1));
        let opts = LoadOptions {
            include_novel: true,
            ..Default::default()
        };
        let s = load_session(&texts(&m, Some(&n)), &r, opts).unwrap();
        let novel = &s.motions[1];
        assert!(novel.is_novel_proposal && novel.is_constitutional_amendment);
        assert_eq!(novel.supporter_ids, ["id-3"]);
    }

    #[test]
    fn constitutional_rule() {
        assert!(is_constitutional_amendment(
            "Constitutional Alignment",
            "x",
            ""
        ));
        assert!(is_constitutional_amendment(
            "x",
            "Framework Amendments & Constitution",
            ""
        ));
        assert!(is_constitutional_amendment(
            "x",
            "y",
            "This is a Constitutional Amendment."
        ));
        assert!(!is_constitutional_amendment(
            "Education",
            "Awareness",
            "amend the curriculum"
        ));
    }
}
