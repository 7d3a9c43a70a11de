//! The stewards file: who may call the API. Each entry binds the sha256 of
//! one bearer token to one cluster and its steward; the token itself is
//! printed once by [`StewardsFile::add`] and never stored.

use std::path::{Path, PathBuf};

use archon_core::input::parse_json;
use archon_core::seed::sha256_hex;
use archon_store::{read_text, write_atomic, StoreError};
use archon_tasks::ClusterRegistry;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// The file name `archon serve` reads beside the ledger when no `--stewards` is given.
pub const DEFAULT_STEWARDS_FILE: &str = "stewards.json";

/// One steward allowed to call the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StewardEntry {
    pub cluster_id: String,
    pub steward_id: String,
    /// Hex sha256 of the bearer token.
    pub token_sha256: String,
    pub added_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StewardsFile {
    pub stewards: Vec<StewardEntry>,
}

/// The steward a request's token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub cluster_id: String,
    pub steward_id: String,
}

impl Caller {
    /// The actor the ledger records for this caller's acts.
    pub fn actor(&self) -> String {
        format!("steward:{}", self.steward_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StewardsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}: {path}: {message}", file.display())]
    Invalid {
        file: PathBuf,
        path: String,
        message: String,
    },
    #[error("cannot write {}: {error}", file.display())]
    Write {
        file: PathBuf,
        error: std::io::Error,
    },
    #[error("no random source for a token: {0}")]
    Random(getrandom::Error),
    #[error("{}: no stewards; add one with `archon serve --add-steward --cluster ID --steward ID`", file.display())]
    NoStewards { file: PathBuf },
}

impl StewardsFile {
    /// Reads the file; a missing file is an empty list (no one may call yet).
    pub fn load(file: &Path) -> Result<StewardsFile, StewardsError> {
        if !file.exists() {
            return Ok(StewardsFile::default());
        }
        let source = file.display().to_string();
        let parsed: StewardsFile =
            parse_json(&source, &read_text(file)?).map_err(StoreError::from)?;
        for (i, entry) in parsed.stewards.iter().enumerate() {
            let is_digest = entry.token_sha256.len() == 64
                && entry
                    .token_sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !is_digest {
                return Err(StewardsError::Invalid {
                    file: file.to_path_buf(),
                    path: format!("$.stewards[{i}].token_sha256"),
                    message: "not a lowercase hex sha256".into(),
                });
            }
        }
        Ok(parsed)
    }

    /// The file a server starts with: read, checked against `clusters`, and
    /// not empty (a server no one may call is a mistake).
    pub fn for_serving(file: &Path, clusters: &ClusterRegistry) -> Result<Self, StewardsError> {
        let stewards = StewardsFile::load(file)?;
        stewards.check_against(file, clusters)?;
        if stewards.stewards.is_empty() {
            return Err(StewardsError::NoStewards {
                file: file.to_path_buf(),
            });
        }
        Ok(stewards)
    }

    /// `stewards.json` beside a ledger file, or in `run_root` for a database.
    pub fn default_path(ledger: &Path, run_root: &Path) -> PathBuf {
        let dir = match archon_tasks::store::Location::parse(ledger) {
            archon_tasks::store::Location::File(file) => {
                file.parent().map(Path::to_path_buf).unwrap_or_default()
            }
            archon_tasks::store::Location::Postgres(_) => run_root.to_path_buf(),
        };
        dir.join(DEFAULT_STEWARDS_FILE)
    }

    /// Every entry names a cluster of `clusters` and that cluster's steward:
    /// the ledger takes a cluster's acts from its steward only, so an entry
    /// that does not match would authenticate a caller who can do nothing.
    pub fn check_against(
        &self,
        file: &Path,
        clusters: &ClusterRegistry,
    ) -> Result<(), StewardsError> {
        for (i, entry) in self.stewards.iter().enumerate() {
            binding_problem(clusters, &entry.cluster_id, &entry.steward_id).map_or(
                Ok(()),
                |message| {
                    Err(StewardsError::Invalid {
                        file: file.to_path_buf(),
                        path: format!("$.stewards[{i}]"),
                        message,
                    })
                },
            )?;
        }
        Ok(())
    }

    /// Adds a steward with a new random token, writes the file (atomically,
    /// owner-only) and returns the token, which is nowhere else.
    pub fn add(
        file: &Path,
        clusters: &ClusterRegistry,
        cluster_id: &str,
        steward_id: &str,
        added_at: &str,
    ) -> Result<String, StewardsError> {
        if let Some(message) = binding_problem(clusters, cluster_id, steward_id) {
            return Err(StewardsError::Invalid {
                file: file.to_path_buf(),
                path: "--cluster/--steward".into(),
                message,
            });
        }
        let mut stewards = StewardsFile::load(file)?;
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(StewardsError::Random)?;
        let token = hex::encode(secret);
        stewards.stewards.push(StewardEntry {
            cluster_id: cluster_id.to_string(),
            steward_id: steward_id.to_string(),
            token_sha256: sha256_hex(&token),
            added_at: added_at.to_string(),
        });
        let write = |error| StewardsError::Write {
            file: file.to_path_buf(),
            error,
        };
        let mut bytes = serde_json::to_vec_pretty(&stewards).map_err(|e| write(e.into()))?;
        bytes.push(b'\n');
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write)?;
        }
        write_atomic(file, &bytes).map_err(write)?;
        restrict_to_owner(file).map_err(write)?;
        Ok(token)
    }

    /// The steward whose token this is. Every entry is compared, in constant
    /// time, so the answer's timing does not tell which digest came close.
    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        let presented = sha256_hex(token);
        let mut found = None;
        for entry in &self.stewards {
            if bool::from(entry.token_sha256.as_bytes().ct_eq(presented.as_bytes())) {
                found = Some(Caller {
                    cluster_id: entry.cluster_id.clone(),
                    steward_id: entry.steward_id.clone(),
                });
            }
        }
        found
    }
}

fn binding_problem(
    clusters: &ClusterRegistry,
    cluster_id: &str,
    steward_id: &str,
) -> Option<String> {
    match clusters.get(cluster_id) {
        None => Some(format!(
            "cluster {cluster_id} is not among the cluster definitions (pass its --cluster-dir)"
        )),
        Some(c) if c.steward.steward_id != steward_id => Some(format!(
            "{steward_id} is not the steward of cluster {cluster_id} (its steward is {})",
            c.steward.steward_id
        )),
        Some(_) => None,
    }
}

fn restrict_to_owner(file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
}

#[cfg(test)]
mod tests {
    use super::*;

    const C42: &str = "6e2f3a41-0042-4b42-9b42-000000000042";

    fn bundled() -> ClusterRegistry {
        ClusterRegistry::bundled().expect("bundled clusters")
    }

    #[test]
    fn a_token_is_printed_once_and_only_its_digest_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("stewards.json");
        let token = StewardsFile::add(&file, &bundled(), C42, "steward-42", "2026-01-01T00:00:00Z")
            .expect("add");
        assert_eq!(token.len(), 64);
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(!text.contains(&token), "the token itself is not stored");
        let stewards = StewardsFile::load(&file).expect("load");
        let caller = stewards.authenticate(&token).expect("token authenticates");
        assert_eq!(caller.actor(), "steward:steward-42");
        assert_eq!(caller.cluster_id, C42);
        assert!(stewards.authenticate(&token[1..]).is_none());
        assert!(stewards.authenticate("").is_none());
        let second =
            StewardsFile::add(&file, &bundled(), C42, "steward-42", "2026-01-01T00:00:00Z")
                .expect("add again");
        assert_ne!(token, second);
        assert_eq!(StewardsFile::load(&file).expect("load").stewards.len(), 2);
    }

    #[test]
    fn a_steward_who_is_not_the_clusters_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("stewards.json");
        let err =
            StewardsFile::add(&file, &bundled(), C42, "steward-43", "t").expect_err("refused");
        assert!(
            err.to_string().contains("not the steward of cluster"),
            "{err}"
        );
        let err =
            StewardsFile::add(&file, &bundled(), "nope", "steward-43", "t").expect_err("refused");
        assert!(
            err.to_string()
                .contains("not among the cluster definitions"),
            "{err}"
        );
        assert!(!file.exists(), "nothing written");
    }

    #[test]
    fn a_malformed_file_names_the_json_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("stewards.json");
        std::fs::write(&file, r#"{"stewards":[{"cluster_id":"c","steward_id":"s","token_sha256":"XYZ","added_at":"t"}]}"#)
            .expect("write");
        let err = StewardsFile::load(&file).expect_err("bad digest");
        assert!(
            err.to_string().contains("$.stewards[0].token_sha256"),
            "{err}"
        );
        std::fs::write(&file, r#"{"stewards":[{"cluster_id":1}]}"#).expect("write");
        let err = StewardsFile::load(&file).expect_err("bad type");
        assert!(
            err.to_string().contains("$.stewards[0].cluster_id"),
            "{err}"
        );
    }
}
