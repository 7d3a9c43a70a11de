//! Configuration of the LLM backends: the `archon.toml` file, the command-line
//! flags, and the settings merged from both (flags win over the file, the file
//! over each archon's roster binding).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::binding::Overrides;

/// Default number of model calls in flight at once, over all endpoints.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Default number of retries of a call that hit a 429, a 5xx or a connection error.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "archon.toml";

/// `archon.toml`. Unknown keys are rejected at every level, so a misspelt key
/// is an error rather than a setting silently ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub llm: Option<LlmSection>,
    /// Model name → price, for cost in `archon usage`.
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
}

/// `[llm]`: overrides of every archon's binding, and transport limits.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSection {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub timeout_ms: Option<u64>,
    pub concurrency: Option<usize>,
    pub per_endpoint_concurrency: Option<usize>,
    pub max_retries: Option<u32>,
    pub max_reasks: Option<u32>,
}

/// `[prices."<model>"]`, in any currency, per 1000 tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub prompt_per_1k: f64,
    pub completion_per_1k: f64,
}

/// The LLM flags of the command line (parsed by the binary, merged here).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmFlags {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub concurrency: Option<usize>,
    pub per_endpoint_concurrency: Option<usize>,
    pub max_reasks: Option<u32>,
    /// Stall timeout in milliseconds (`--timeout SECS`).
    pub timeout_ms: Option<u64>,
    pub max_tokens: Option<u32>,
    pub max_retries: Option<u32>,
    pub record: Option<PathBuf>,
    pub replay: Option<PathBuf>,
}

/// Where exchanges are recorded or replayed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CassetteMode {
    Off,
    /// Store every answered exchange; reuse stored ones instead of calling the server.
    Record(PathBuf),
    /// Answer only from stored exchanges; never call a server.
    Replay(PathBuf),
}

/// Everything the LLM backends need, merged from flags and `archon.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmSettings {
    pub overrides: Overrides,
    pub concurrency: usize,
    /// Whether `concurrency` was set (flag or file); when not, a server that
    /// tells its slot count (llama.cpp's `/props`) sets it.
    pub concurrency_set: bool,
    pub per_endpoint_concurrency: usize,
    pub max_retries: u32,
    pub max_reasks: u32,
    /// First retry delay; doubled on each retry, with jitter.
    pub retry_base: Duration,
    /// Longest wait between two attempts, `Retry-After` included.
    pub retry_cap: Duration,
    pub cassette: CassetteMode,
    /// Whether a model endpoint was configured (`--base-url`, an `[llm]`
    /// section, or `--replay`); `--mode auto` uses LLM only then.
    pub configured: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{source_name}: {message}")]
    Parse {
        source_name: String,
        message: String,
    },
    #[error("{source_name}: {key}: {message}")]
    Invalid {
        source_name: String,
        key: String,
        message: String,
    },
}

impl ConfigFile {
    /// Parses `archon.toml` text; `source_name` names it in errors.
    pub fn parse(source_name: &str, text: &str) -> Result<ConfigFile, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            source_name: source_name.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        file.check(source_name)?;
        Ok(file)
    }

    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ConfigFile::parse(&path.display().to_string(), &text)
    }

    /// `--config FILE` when given (it must exist), else `./archon.toml` when present.
    pub fn discover(explicit: Option<&Path>) -> Result<ConfigFile, ConfigError> {
        match explicit {
            Some(path) => ConfigFile::load(path),
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                ConfigFile::load(Path::new(DEFAULT_CONFIG_FILE))
            }
            None => Ok(ConfigFile::default()),
        }
    }

    fn check(&self, source_name: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::Invalid {
            source_name: source_name.to_string(),
            key: key.to_string(),
            message: message.to_string(),
        };
        if let Some(llm) = &self.llm {
            let overrides = Overrides::from(llm);
            overrides
                .check()
                .map_err(|(key, message)| invalid(&format!("llm.{key}"), &message))?;
            check_limit(llm.concurrency).map_err(|m| invalid("llm.concurrency", m))?;
            check_limit(llm.per_endpoint_concurrency)
                .map_err(|m| invalid("llm.per_endpoint_concurrency", m))?;
        }
        for (model, price) in &self.prices {
            for (name, value) in [
                ("prompt_per_1k", price.prompt_per_1k),
                ("completion_per_1k", price.completion_per_1k),
            ] {
                if !value.is_finite() || value < 0.0 {
                    return Err(invalid(
                        &format!("prices.\"{model}\".{name}"),
                        "must be a non-negative number",
                    ));
                }
            }
        }
        Ok(())
    }
}

fn check_limit(n: Option<usize>) -> Result<(), &'static str> {
    match n {
        Some(0) => Err("must be at least 1"),
        _ => Ok(()),
    }
}

impl LlmSettings {
    /// Merges flags over the file. Errors name the flag or key at fault.
    pub fn merge(file: &ConfigFile, flags: &LlmFlags) -> Result<LlmSettings, ConfigError> {
        let section = file.llm.clone().unwrap_or_default();
        let pick = |flag: &Option<String>, key: &Option<String>| flag.clone().or(key.clone());
        let overrides = Overrides {
            provider: pick(&flags.provider, &section.provider),
            model: pick(&flags.model, &section.model),
            base_url: pick(&flags.base_url, &section.base_url),
            api_key_env: pick(&flags.api_key_env, &section.api_key_env),
            temperature: section.temperature,
            max_tokens: flags.max_tokens.or(section.max_tokens),
            timeout_ms: flags.timeout_ms.or(section.timeout_ms),
        };
        let flag_error = |key: String, message: String| ConfigError::Invalid {
            source_name: "command line".into(),
            key: format!("--{}", key.replace('_', "-")),
            message,
        };
        overrides
            .check()
            .map_err(|(key, message)| flag_error(key, message))?;
        check_limit(flags.concurrency).map_err(|m| flag_error("concurrency".into(), m.into()))?;
        check_limit(flags.per_endpoint_concurrency)
            .map_err(|m| flag_error("per_endpoint_concurrency".into(), m.into()))?;
        let concurrency = flags
            .concurrency
            .or(section.concurrency)
            .unwrap_or(DEFAULT_CONCURRENCY);
        let cassette = match (&flags.record, &flags.replay) {
            (Some(_), Some(_)) => {
                return Err(flag_error(
                    "record".into(),
                    "cannot be combined with --replay".into(),
                ))
            }
            (Some(dir), None) => CassetteMode::Record(dir.clone()),
            (None, Some(dir)) => CassetteMode::Replay(dir.clone()),
            (None, None) => CassetteMode::Off,
        };
        Ok(LlmSettings {
            // A provider with a default URL (openai, ollama) is an endpoint too.
            configured: overrides.base_url.is_some()
                || flags.provider.is_some()
                || file.llm.is_some()
                || matches!(cassette, CassetteMode::Replay(_)),
            overrides,
            concurrency,
            concurrency_set: flags.concurrency.or(section.concurrency).is_some(),
            // Without its own limit an endpoint may use the whole global budget.
            per_endpoint_concurrency: flags
                .per_endpoint_concurrency
                .or(section.per_endpoint_concurrency)
                .unwrap_or(concurrency),
            max_retries: flags
                .max_retries
                .or(section.max_retries)
                .unwrap_or(DEFAULT_MAX_RETRIES),
            max_reasks: flags
                .max_reasks
                .or(section.max_reasks)
                .unwrap_or(archon_core::agent_port::DEFAULT_MAX_REASKS),
            retry_base: Duration::from_millis(500),
            retry_cap: Duration::from_secs(60),
            cassette,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let file = ConfigFile::parse(
            "archon.toml",
            r#"
[llm]
provider = "ollama"
model = "qwen3:8b"
base_url = "http://localhost:11434"
api_key_env = "OLLAMA_API_KEY"
temperature = 0.2
max_tokens = 2000
timeout_ms = 60000
concurrency = 4
per_endpoint_concurrency = 2
max_retries = 3
max_reasks = 1

[prices."gpt-4o-mini"]
prompt_per_1k = 0.00015
completion_per_1k = 0.0006
"#,
        )
        .unwrap();
        let llm = file.llm.as_ref().unwrap();
        assert_eq!(llm.per_endpoint_concurrency, Some(2));
        assert_eq!(file.prices["gpt-4o-mini"].completion_per_1k, 0.0006);
        let s = LlmSettings::merge(&file, &LlmFlags::default()).unwrap();
        assert!(s.configured);
        assert_eq!((s.concurrency, s.per_endpoint_concurrency), (4, 2));
        assert_eq!((s.max_retries, s.max_reasks), (3, 1));
    }

    #[test]
    fn unknown_keys_are_rejected_at_every_level() {
        for (text, needle) in [
            ("[llm]\nmodle = \"x\"\n", "modle"),
            ("[lm]\n", "lm"),
            (
                "[prices.m]\nprompt_per_1k = 1\ncompletion_per_1k = 1\nextra = 2\n",
                "extra",
            ),
        ] {
            let e = ConfigFile::parse("archon.toml", text)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("archon.toml: "), "{e}");
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, key) in [
            ("[llm]\nconcurrency = 0\n", "llm.concurrency"),
            ("[llm]\nbase_url = \"localhost:11434\"\n", "llm.base_url"),
            ("[llm]\ntemperature = -1.0\n", "llm.temperature"),
            ("[llm]\nprovider = \"anthropic\"\n", "llm.provider"),
            ("[llm]\ntimeout_ms = 0\n", "llm.timeout_ms"),
            ("[llm]\nmax_tokens = \"many\"\n", "max_tokens"),
            (
                "[prices.m]\nprompt_per_1k = -1\ncompletion_per_1k = 1\n",
                "prices.\"m\".prompt_per_1k",
            ),
        ] {
            let e = ConfigFile::parse("archon.toml", text)
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
    }

    #[test]
    fn flags_win_over_the_file_and_decide_configured() {
        let file = ConfigFile::parse("f", "[llm]\nmodel = \"a\"\nconcurrency = 3\n").unwrap();
        let flags = LlmFlags {
            model: Some("b".into()),
            concurrency: Some(5),
            ..LlmFlags::default()
        };
        let s = LlmSettings::merge(&file, &flags).unwrap();
        assert_eq!(s.overrides.model.as_deref(), Some("b"));
        assert_eq!((s.concurrency, s.per_endpoint_concurrency), (5, 5));
        assert!(s.concurrency_set);

        let file = ConfigFile::parse(
            "f",
            "[llm]\ntimeout_ms = 9000\nmax_tokens = 2048\nmax_retries = 4\n",
        )
        .unwrap();
        let flags = LlmFlags {
            timeout_ms: Some(2000),
            max_tokens: Some(256),
            max_retries: Some(0),
            ..LlmFlags::default()
        };
        let s = LlmSettings::merge(&file, &flags).unwrap();
        assert_eq!(
            (
                s.overrides.timeout_ms,
                s.overrides.max_tokens,
                s.max_retries
            ),
            (Some(2000), Some(256), 0)
        );
        assert!(!s.concurrency_set);

        let hosted = LlmFlags {
            provider: Some("openai".into()),
            ..LlmFlags::default()
        };
        let s = LlmSettings::merge(&ConfigFile::default(), &hosted).unwrap();
        assert!(s.configured, "a provider with a default URL is an endpoint");

        let none = LlmSettings::merge(&ConfigFile::default(), &LlmFlags::default()).unwrap();
        assert!(!none.configured);
        assert_eq!(none.concurrency, DEFAULT_CONCURRENCY);
        let replay = LlmFlags {
            replay: Some("c".into()),
            ..LlmFlags::default()
        };
        assert!(
            LlmSettings::merge(&ConfigFile::default(), &replay)
                .unwrap()
                .configured
        );
        let both = LlmFlags {
            record: Some("c".into()),
            replay: Some("c".into()),
            ..LlmFlags::default()
        };
        let e = LlmSettings::merge(&ConfigFile::default(), &both).unwrap_err();
        assert!(e.to_string().contains("--record"), "{e}");
        let zero = LlmFlags {
            concurrency: Some(0),
            ..LlmFlags::default()
        };
        let e = LlmSettings::merge(&ConfigFile::default(), &zero).unwrap_err();
        assert_eq!(
            e.to_string(),
            "command line: --concurrency: must be at least 1"
        );
    }
}
