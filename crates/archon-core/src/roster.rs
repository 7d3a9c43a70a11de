//! The roster of the 72 archons: types, loading and validation.
//!
//! The format is that of the Python system's `archons-base.json` (top-level
//! `archons[]` and `portfolios[]`); fields archon does not use are ignored.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::input::{parse_json, InputError, InputErrors};

/// The seven ranks and how many archons hold each.
pub const RANK_COUNTS: [(Rank, usize); 7] = [
    (Rank::King, 9),
    (Rank::President, 11),
    (Rank::Duke, 23),
    (Rank::Marquis, 15),
    (Rank::Prince, 7),
    (Rank::Earl, 6),
    (Rank::Knight, 1),
];

/// Total number of archons in a valid roster.
pub const ARCHON_COUNT: usize = 72;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rank {
    King,
    President,
    Duke,
    Marquis,
    Prince,
    Earl,
    Knight,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Branch {
    Legislative,
    Executive,
    AdministrativeSenior,
    AdministrativeStrategic,
    Judicial,
    Advisory,
    Witness,
}

impl Branch {
    pub fn as_str(&self) -> &'static str {
        match self {
            Branch::Legislative => "legislative",
            Branch::Executive => "executive",
            Branch::AdministrativeSenior => "administrative_senior",
            Branch::AdministrativeStrategic => "administrative_strategic",
            Branch::Judicial => "judicial",
            Branch::Advisory => "advisory",
            Branch::Witness => "witness",
        }
    }
}

/// Per-archon model binding (`llm_config`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    pub provider: String,
    pub model: String,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Archon {
    pub id: String,
    pub name: String,
    pub rank: Rank,
    pub aegis_rank: String,
    pub rank_level: u32,
    pub branch: Branch,
    pub role: String,
    pub goal: String,
    pub backstory: String,
    pub system_prompt: String,
    pub llm_config: LlmConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portfolio_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portfolio_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portfolio_scope: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisory_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_scope: Option<Vec<String>>,
}

impl Archon {
    /// Lower-case words this archon is expert in: portfolio scope, execution,
    /// advisory and realm domains, and the words of its role.
    pub fn domain_terms(&self) -> Vec<String> {
        let lists = [
            &self.portfolio_scope,
            &self.execution_domains,
            &self.advisory_domains,
            &self.realm_scope,
        ];
        let mut terms: Vec<String> = lists
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|t| words(t))
            .collect();
        let role = self
            .role
            .split_once(" - ")
            .map_or(self.role.as_str(), |(_, r)| r);
        terms.extend(words(role));
        terms.retain(|w| w.len() > 3);
        terms.sort();
        terms.dedup();
        terms
    }

    /// The red lines named in the persona (`Red lines: a; b; c.`), as words.
    pub fn red_lines(&self) -> Vec<String> {
        self.system_prompt
            .lines()
            .find_map(|l| l.trim().strip_prefix("Red lines:"))
            .map(|rest| {
                rest.trim()
                    .trim_end_matches('.')
                    .split(';')
                    .map(|s| s.trim().to_lowercase())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Splits text into lower-case alphanumeric words (`_` and `-` separate words).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Portfolio {
    pub portfolio_id: String,
    pub portfolio_label: String,
    pub portfolio_scope: Vec<String>,
    pub archon_id: String,
    pub archon_name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct RosterFile {
    archons: Vec<Archon>,
    #[serde(default)]
    portfolios: Vec<Portfolio>,
}

/// A validated roster.
#[derive(Debug, Clone)]
pub struct Roster {
    pub archons: Vec<Archon>,
    pub portfolios: Vec<Portfolio>,
    by_name: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
}

impl Roster {
    /// `PRESIDENT_DELIBERATOR_MODEL` and `PRESIDENT_DELIBERATOR_TEMPERATURE` (the
    /// spec's variables, read through `var`) replace every President's binding of
    /// model and temperature; `--model` and `archon.toml` still override every one.
    pub fn bind_president_deliberator(
        &mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<(), InputError> {
        const TEMPERATURE: &str = "PRESIDENT_DELIBERATOR_TEMPERATURE";
        let model = var("PRESIDENT_DELIBERATOR_MODEL").filter(|m| !m.trim().is_empty());
        let temperature = match var(TEMPERATURE).filter(|t| !t.trim().is_empty()) {
            None => None,
            Some(t) => match t.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && (0.0..=2.0).contains(&v) => Some(v),
                _ => {
                    return Err(InputError::new(
                        "environment",
                        TEMPERATURE,
                        format!("{t:?} is not a temperature between 0 and 2"),
                    ))
                }
            },
        };
        for a in self
            .archons
            .iter_mut()
            .filter(|a| a.rank == Rank::President)
        {
            if let Some(m) = &model {
                a.llm_config.model = m.trim().to_string();
            }
            if temperature.is_some() {
                a.llm_config.temperature = temperature;
            }
        }
        Ok(())
    }

    /// Parses and validates a roster file; every violation is reported with its JSON path.
    pub fn from_json(source: &str, text: &str) -> Result<Roster, InputErrors> {
        let file: RosterFile = parse_json(source, text)?;
        let errors = validate(source, &file);
        if !errors.is_empty() {
            return Err(InputErrors(errors));
        }
        let by_name = index(&file.archons, |a| a.name.to_lowercase());
        let by_id = index(&file.archons, |a| a.id.clone());
        Ok(Roster {
            archons: file.archons,
            portfolios: file.portfolios,
            by_name,
            by_id,
        })
    }

    /// Finds an archon by name, case-insensitively.
    pub fn by_name(&self, name: &str) -> Option<&Archon> {
        self.by_name
            .get(&name.to_lowercase())
            .map(|&i| &self.archons[i])
    }

    pub fn by_id(&self, id: &str) -> Option<&Archon> {
        self.by_id.get(id).map(|&i| &self.archons[i])
    }

    /// Archons of one rank, in roster order.
    pub fn of_rank(&self, rank: Rank) -> impl Iterator<Item = &Archon> {
        self.archons.iter().filter(move |a| a.rank == rank)
    }

    /// Archons of one branch, in roster order.
    pub fn of_branch(&self, branch: Branch) -> impl Iterator<Item = &Archon> {
        self.archons.iter().filter(move |a| a.branch == branch)
    }

    /// The archons grouped by rank (in [`RANK_COUNTS`] order) then branch.
    pub fn grouped(&self) -> BTreeMap<(Rank, Branch), Vec<&Archon>> {
        let mut groups: BTreeMap<(Rank, Branch), Vec<&Archon>> = BTreeMap::new();
        for a in &self.archons {
            groups.entry((a.rank, a.branch)).or_default().push(a);
        }
        groups
    }
}

fn index(archons: &[Archon], key: impl Fn(&Archon) -> String) -> HashMap<String, usize> {
    archons
        .iter()
        .enumerate()
        .map(|(i, a)| (key(a), i))
        .collect()
}

fn validate(source: &str, file: &RosterFile) -> Vec<InputError> {
    let mut errors = Vec::new();
    let mut err = |path: String, msg: String| errors.push(InputError::new(source, path, msg));
    if file.archons.len() != ARCHON_COUNT {
        err(
            "$.archons".into(),
            format!(
                "expected {ARCHON_COUNT} archons, found {}",
                file.archons.len()
            ),
        );
    }
    for (rank, expected) in RANK_COUNTS {
        let found = file.archons.iter().filter(|a| a.rank == rank).count();
        if found != expected {
            err(
                "$.archons".into(),
                format!("expected {expected} archons of rank {rank:?}, found {found}"),
            );
        }
    }
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (i, a) in file.archons.iter().enumerate() {
        let at = |f: &str| format!("$.archons[{i}].{f}");
        // Ids name files and folders (review packets, checkpoints): one safe component.
        if let Err(m) = crate::ids::check_file_component(&a.id) {
            err(at("id"), m);
        } else if a.id.trim().is_empty() {
            err(at("id"), "id is empty".into());
        }
        if a.name.trim().is_empty() {
            err(at("name"), "name is empty".into());
        }
        if let Err(m) = crate::ids::check_file_component(&a.name) {
            err(at("name"), m);
        }
        if let Some(first) = names.insert(a.name.to_lowercase(), i) {
            err(
                at("name"),
                format!(
                    "duplicate name {} (also $.archons[{first}])",
                    crate::ids::quoted(&a.name)
                ),
            );
        }
        if let Some(first) = ids.insert(&a.id, i) {
            err(
                at("id"),
                format!(
                    "duplicate id {} (also $.archons[{first}])",
                    crate::ids::quoted(&a.id)
                ),
            );
        }
        if a.rank == Rank::President {
            for (field, present) in [
                (
                    "portfolio_id",
                    a.portfolio_id.as_deref().is_some_and(|s| !s.is_empty()),
                ),
                (
                    "portfolio_label",
                    a.portfolio_label.as_deref().is_some_and(|s| !s.is_empty()),
                ),
                (
                    "portfolio_scope",
                    a.portfolio_scope.as_ref().is_some_and(|s| !s.is_empty()),
                ),
            ] {
                if !present {
                    err(at(field), format!("President {} has no {field}", a.name));
                }
            }
        }
        if a.rank == Rank::Earl && a.execution_domains.as_ref().is_none_or(|d| d.is_empty()) {
            err(
                at("execution_domains"),
                format!("Earl {} has no execution_domains", a.name),
            );
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn president_deliberator_variables_rebind_presidents_only() {
        let bundled = || {
            let text = include_str!("../../../data/roster.json");
            Roster::from_json("r", text).expect("roster")
        };
        let mut roster = bundled();
        let vars = |k: &str| match k {
            "PRESIDENT_DELIBERATOR_MODEL" => Some("qwen2.5:14b".to_string()),
            "PRESIDENT_DELIBERATOR_TEMPERATURE" => Some("0.2".to_string()),
            _ => None,
        };
        roster.bind_president_deliberator(vars).expect("valid");
        for (a, before) in roster.archons.iter().zip(bundled().archons) {
            if a.rank == Rank::President {
                assert_eq!(a.llm_config.model, "qwen2.5:14b");
                assert_eq!(a.llm_config.temperature, Some(0.2));
            } else {
                assert_eq!(a.llm_config, before.llm_config);
            }
        }
        let hot = |k: &str| (k == "PRESIDENT_DELIBERATOR_TEMPERATURE").then(|| "hot".to_string());
        let err = bundled()
            .bind_president_deliberator(hot)
            .expect_err("refused");
        assert!(
            err.to_string()
                .contains("PRESIDENT_DELIBERATOR_TEMPERATURE: \"hot\""),
            "{err}"
        );
    }

    fn archon(i: usize, rank: Rank) -> serde_json::Value {
        let mut a = serde_json::json!({
            "id": format!("id-{i}"), "name": format!("Name{i}"), "rank": rank,
            "aegis_rank": "director", "rank_level": 4, "branch": "advisory",
            "role": "Director - Testing", "goal": "g", "backstory": "b",
            "system_prompt": "Red lines: a_b; c.\n",
            "llm_config": {"provider": "local", "model": "m"}
        });
        if rank == Rank::President {
            a["portfolio_id"] = format!("portfolio_{i}").into();
            a["portfolio_label"] = "P".into();
            a["portfolio_scope"] = serde_json::json!(["policy"]);
        }
        if rank == Rank::Earl {
            a["execution_domains"] = serde_json::json!(["x"]);
        }
        a
    }

    fn full() -> Vec<serde_json::Value> {
        let mut v = Vec::new();
        for (rank, n) in RANK_COUNTS {
            for _ in 0..n {
                v.push(archon(v.len(), rank));
            }
        }
        v
    }

    fn load(archons: Vec<serde_json::Value>) -> Result<Roster, InputErrors> {
        let text = serde_json::json!({ "archons": archons, "portfolios": [] }).to_string();
        Roster::from_json("roster.json", &text)
    }

    #[test]
    fn valid_roster_loads() {
        let r = load(full()).unwrap();
        assert_eq!(r.archons.len(), 72);
        assert_eq!(r.of_rank(Rank::Duke).count(), 23);
        assert_eq!(r.by_name("name0").unwrap().id, "id-0");
        assert_eq!(r.archons[0].red_lines(), vec!["a_b", "c"]);
    }

    #[test]
    fn violations_name_their_paths() {
        let mut a = full();
        a[1]["name"] = "Name0".into();
        a[9]["portfolio_scope"] = serde_json::json!([]);
        a.pop();
        let errs = load(a).unwrap_err().0;
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"$.archons[1].name"), "{errs:?}");
        assert!(paths.contains(&"$.archons[9].portfolio_scope"), "{errs:?}");
        assert!(errs
            .iter()
            .any(|e| e.message.contains("expected 72 archons")));
        assert!(errs.iter().any(|e| e.message.contains("rank Knight")));
    }

    #[test]
    fn a_hostile_id_is_refused_with_its_json_path() {
        let mut archons = full();
        archons[3]["id"] = "../../../../tmp/x".into();
        let errs = load(archons).err().map(|e| e.0).unwrap_or_default();
        assert!(
            errs.iter()
                .any(|e| e.path == "$.archons[3].id" && e.message.contains("'..'")),
            "{errs:?}"
        );
    }

    #[test]
    fn unknown_rank_is_an_error_with_path() {
        let mut a = full();
        a[3]["rank"] = "Baron".into();
        let errs = load(a).unwrap_err().0;
        assert_eq!(errs[0].path, "$.archons[3].rank");
        assert!(errs[0].message.contains("unknown variant"));
    }
}
