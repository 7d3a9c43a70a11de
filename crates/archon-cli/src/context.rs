//! What every command shares: the clock, the seed, the roster, the agents.
//! Built once from the global flags and the environment.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use archon_agents::{ConfigFile, LlmFlags, LlmSettings, Progress, ProgressMode};
use archon_core::agent_port::{Agents, AnswerTally, Backend};
use archon_core::clock::Clock;
use archon_core::roster::Roster;
use archon_core::seed::Seed;
use archon_pipeline::stage::StageResult;
use archon_pipeline::stages::chain_stages::StageContext;
use tracing_subscriber::fmt::MakeWriter;

use crate::cli::{GlobalArgs, Mode};

/// The bundled roster of 72 archons.
const BUNDLED_ROSTER: &str = include_str!("../../../data/roster.json");

pub struct Context {
    pub global: GlobalArgs,
    pub clock: Clock,
    pub seed: Seed,
    /// The process's progress bars (stderr), shared by the run and the LLM backend.
    pub progress: Progress,
    /// The model backend, built on first use and shared by every command run
    /// with this context (all stages of `archon run`, side by side or not): one
    /// runtime, one connection pool, one concurrency limit.
    backend: Mutex<Option<Arc<dyn Backend>>>,
    /// What became of every ask of this process (all stages of `archon run`):
    /// read after a stage to tell invalid answers and transport failures apart.
    pub tally: Arc<AnswerTally>,
    /// Whether `--mode auto` has said which mode it chose.
    told_mode: Arc<AtomicBool>,
}

impl Context {
    pub fn from_args(global: &GlobalArgs, progress: Progress) -> Result<Context> {
        let clock = match std::env::var("ARCHON_NOW") {
            Ok(v) if !v.is_empty() => Clock::fixed_from_rfc3339(&v)
                .map_err(anyhow::Error::msg)
                .context("ARCHON_NOW")?,
            _ => Clock::System,
        };
        Ok(Context {
            global: global.clone(),
            clock,
            seed: Seed(global.seed),
            progress,
            backend: Mutex::default(),
            tally: Arc::new(AnswerTally::stopping_on_transport_failure()),
            told_mode: Arc::default(),
        })
    }

    /// The same clock, seed and progress bars under other global options.
    pub fn with_global(&self, global: GlobalArgs) -> Context {
        Context {
            global,
            clock: self.clock,
            seed: self.seed,
            progress: self.progress.clone(),
            backend: Mutex::default(),
            tally: self.tally.clone(),
            told_mode: self.told_mode.clone(),
        }
    }

    /// The roster from `--roster`, or the bundled one, with the Presidents'
    /// model binding from `PRESIDENT_DELIBERATOR_*` when set.
    pub fn roster(&self) -> Result<Roster> {
        let mut roster = match &self.global.roster {
            Some(path) => {
                let text = archon_store::read_text(path)?;
                Roster::from_json(&path.display().to_string(), &text)?
            }
            None => Roster::from_json("bundled roster (data/roster.json)", BUNDLED_ROSTER)?,
        };
        roster.bind_president_deliberator(|k| std::env::var(k).ok())?;
        Ok(roster)
    }

    /// The `archon.toml` in effect: `--config FILE`, or `./archon.toml` when present.
    pub fn config_file(&self) -> Result<ConfigFile> {
        Ok(ConfigFile::discover(self.global.llm.config.as_deref())?)
    }

    fn llm_settings(&self) -> Result<LlmSettings> {
        let a = &self.global.llm;
        let flags = LlmFlags {
            provider: a.provider.clone(),
            model: a.model.clone(),
            base_url: a.base_url.clone(),
            api_key_env: a.api_key_env.clone(),
            concurrency: a.concurrency,
            per_endpoint_concurrency: a.per_endpoint_concurrency,
            max_reasks: a.max_reasks,
            timeout_ms: a.timeout.map(|s| s.saturating_mul(1000)),
            max_tokens: a.max_tokens,
            max_retries: a.max_retries,
            record: a.record.clone(),
            replay: a.replay.clone(),
        };
        Ok(LlmSettings::merge(&self.config_file()?, &flags)?)
    }

    /// Where recorded answers are kept (`--record`, `--replay`, or off).
    pub fn cassette(&self) -> Result<archon_agents::CassetteMode> {
        Ok(self.llm_settings()?.cassette)
    }

    /// The agents for `--mode`: simulation, or the LLM (or replay) backend when
    /// an endpoint is configured (`--base-url`, an `[llm]` section, `--replay`).
    pub fn agents(&self) -> Result<Agents> {
        let settings = self.llm_settings()?;
        let llm = self.uses_llm(&settings)?;
        self.tell_mode(&settings, llm);
        if !llm {
            if let Some(dir) = &self.global.llm.record {
                anyhow::bail!(
                    "--record {} needs LLM mode, but answers are simulated (no model endpoint configured, or --mode simulation)",
                    dir.display()
                );
            }
            return Ok(Agents::simulated(self.seed)
                .with_max_reasks(settings.max_reasks)
                .with_tally(self.tally.clone()));
        }
        let mut shared = self.backend.lock().unwrap_or_else(|e| e.into_inner());
        let backend = match &*shared {
            Some(backend) => backend.clone(),
            None => {
                let roster = self.roster()?;
                let backend = archon_agents::backend(&settings, &roster.archons, &self.progress)?;
                shared.insert(backend).clone()
            }
        };
        Ok(Agents::new(backend, self.seed)
            .with_max_reasks(settings.max_reasks)
            .with_tally(self.tally.clone()))
    }

    /// `--mode auto` picks simulation or LLM from the configuration; it says
    /// which, once per process, so a missing endpoint is never a silent simulation.
    fn tell_mode(&self, settings: &LlmSettings, llm: bool) {
        if self.global.mode != Mode::Auto
            || !self.loud()
            || self.told_mode.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let o = &settings.overrides;
        if llm {
            let at = match (&settings.cassette, &o.base_url, &o.provider) {
                (archon_agents::CassetteMode::Replay(dir), _, _) => {
                    format!("replayed from {}", dir.display())
                }
                (_, Some(url), _) => format!("from {url}"),
                (_, None, Some(p)) => format!("from provider {p}"),
                _ => "from archon.toml's [llm] endpoint".into(),
            };
            let model = o
                .model
                .as_deref()
                .map(|m| format!(", model {m}"))
                .unwrap_or_default();
            eprintln!("mode auto: LLM answers {at}{model}");
        } else {
            eprintln!(
                "mode auto: SIMULATED answers (no model endpoint configured: set --base-url, --provider, \
                 an [llm] section in archon.toml, or --replay; --mode llm to require one)"
            );
        }
    }

    /// Whether answers come from a model server (or a cassette) rather than simulation.
    pub fn answers_from_llm(&self) -> Result<bool> {
        self.uses_llm(&self.llm_settings()?)
    }

    fn uses_llm(&self, settings: &LlmSettings) -> Result<bool> {
        Ok(match self.global.mode {
            Mode::Simulation => false,
            Mode::Auto | Mode::Manual | Mode::Hybrid => settings.configured,
            Mode::Llm if settings.configured => true,
            Mode::Llm => anyhow::bail!(
                "--mode llm needs a model endpoint, and none is configured: set --base-url, \
                 --provider, an [llm] section in archon.toml (or --config FILE), or --replay DIR"
            ),
        })
    }

    /// Whether progress and summaries go to the console.
    pub fn loud(&self) -> bool {
        !self.global.quiet
    }
}

/// The stages of `archon run` (and `archon execute`'s delegate) take the
/// roster, the agents, the clock and the seed from the context.
impl StageContext for Context {
    fn roster(&self) -> StageResult<Roster> {
        Context::roster(self).map_err(|e| e.into_boxed_dyn_error())
    }
    fn agents(&self) -> StageResult<Agents> {
        Context::agents(self).map_err(|e| e.into_boxed_dyn_error())
    }
    fn clock(&self) -> &Clock {
        &self.clock
    }
    fn seed(&self) -> Seed {
        self.seed
    }
    fn cassette(&self) -> StageResult<archon_agents::CassetteMode> {
        Context::cassette(self).map_err(|e| e.into_boxed_dyn_error())
    }
    fn answers_failed(&self) -> Option<String> {
        self.tally.transport_failure()
    }
}

/// Progress bars on stderr: never with `--quiet`; otherwise as `ARCHON_PROGRESS`
/// says (`auto`, the default: only on a terminal; `always`; `never`).
pub fn progress(global: &GlobalArgs) -> Result<Progress> {
    if global.quiet {
        return Ok(Progress::off());
    }
    let mode: ProgressMode = std::env::var("ARCHON_PROGRESS")
        .unwrap_or_default()
        .parse()
        .map_err(anyhow::Error::msg)
        .context("ARCHON_PROGRESS")?;
    Ok(Progress::stderr(mode))
}

/// Logs (tracing) go to stderr; `-v` shows info, `-vv` debug; `RUST_LOG` overrides.
/// Each log line is written with the progress bars cleared, so neither garbles the other.
pub fn init_logging(global: &GlobalArgs, progress: &Progress) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(AroundBars(progress.clone()))
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .try_init();
}

/// A `MakeWriter` for stderr that holds each log event and writes it whole
/// while the bars are suspended.
struct AroundBars(Progress);

impl<'a> MakeWriter<'a> for AroundBars {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine {
            progress: self.0.clone(),
            text: Vec::new(),
        }
    }
}

/// One log event, written to stderr when the subscriber drops it.
struct LogLine {
    progress: Progress,
    text: Vec<u8>,
}

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.text.is_empty() {
            // Nowhere left to report a failed write to stderr.
            let _ = self
                .progress
                .suspend(|| std::io::stderr().write_all(&self.text));
        }
    }
}
