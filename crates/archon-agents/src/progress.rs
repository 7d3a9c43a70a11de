//! Progress bars for fan-outs that take a while (an LLM batch, the stages of
//! `archon run`), on stderr only. One [`Progress`] per process holds every bar
//! in one `MultiProgress`, so nested bars stack instead of overwriting each
//! other, and [`Progress::suspend`] lets a log line through without garbling them.

use std::io::{IsTerminal, Write};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

/// When bars are drawn (`ARCHON_PROGRESS`): `auto` only on a terminal,
/// `always` also into a pipe (tests), `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Auto,
    Always,
    Never,
}

impl std::str::FromStr for ProgressMode {
    type Err = String;

    fn from_str(s: &str) -> Result<ProgressMode, String> {
        match s {
            "" | "auto" => Ok(ProgressMode::Auto),
            "always" => Ok(ProgressMode::Always),
            "never" => Ok(ProgressMode::Never),
            other => Err(format!("expected auto, always or never, got {other:?}")),
        }
    }
}

/// The bars of one process; cheap to clone (all clones share the bars).
#[derive(Debug, Clone, Default)]
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    /// No bars at all.
    pub fn off() -> Progress {
        Progress { multi: None }
    }

    /// Bars on stderr as `mode` says.
    pub fn stderr(mode: ProgressMode) -> Progress {
        match mode {
            ProgressMode::Never => Progress::off(),
            ProgressMode::Auto if !std::io::stderr().is_terminal() => Progress::off(),
            ProgressMode::Auto => Progress::to(ProgressDrawTarget::stderr()),
            // indicatif hides its stderr target off a terminal; this one draws anyway.
            ProgressMode::Always => {
                Progress::to(ProgressDrawTarget::term_like(Box::new(ForcedStderr)))
            }
        }
    }

    /// Bars drawn to `target` (tests draw into memory).
    pub fn to(target: ProgressDrawTarget) -> Progress {
        Progress {
            multi: Some(MultiProgress::with_draw_target(target)),
        }
    }

    pub fn is_on(&self) -> bool {
        self.multi.is_some()
    }

    /// A bar of `len` steps labelled `label`; it disappears when dropped.
    pub fn bar(&self, label: &str, len: u64) -> Bar {
        let Some(multi) = &self.multi else {
            return Bar {
                bar: ProgressBar::hidden(),
                multi: None,
            };
        };
        let style = ProgressStyle::with_template("{prefix} [{pos}/{len}] {wide_bar} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = multi.add(
            ProgressBar::new(len)
                .with_style(style)
                .with_prefix(label.to_string()),
        );
        bar.tick();
        Bar {
            bar,
            multi: Some(multi.clone()),
        }
    }

    /// Runs `f` with the bars cleared, then redraws them (for log lines).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.multi {
            Some(m) => m.suspend(f),
            None => f(),
        }
    }
}

/// One bar; finished and removed on drop.
#[derive(Debug)]
pub struct Bar {
    bar: ProgressBar,
    multi: Option<MultiProgress>,
}

impl Bar {
    /// A handle that moves the same bar (for tasks finishing elsewhere).
    pub fn handle(&self) -> ProgressBar {
        self.bar.clone()
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    pub fn set_message(&self, msg: impl Into<String>) {
        self.bar.set_message(msg.into());
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        if let Some(m) = &self.multi {
            m.remove(&self.bar);
        }
    }
}

/// stderr as a terminal, whether or not it is one (`ARCHON_PROGRESS=always`).
#[derive(Debug)]
struct ForcedStderr;

impl ForcedStderr {
    fn put(&self, s: &str) -> std::io::Result<()> {
        std::io::stderr().write_all(s.as_bytes())
    }
}

impl TermLike for ForcedStderr {
    fn width(&self) -> u16 {
        100
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}A"))
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}B"))
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}C"))
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(&format!("\x1b[{n}D"))
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(&format!("{s}\n"))
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.put("\r\x1b[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_unknown_ones_are_refused() {
        assert_eq!("".parse(), Ok(ProgressMode::Auto));
        assert_eq!("always".parse(), Ok(ProgressMode::Always));
        assert_eq!("never".parse(), Ok(ProgressMode::Never));
        assert!("sometimes".parse::<ProgressMode>().is_err());
    }

    #[test]
    fn off_draws_nothing_and_suspend_still_runs() {
        let p = Progress::stderr(ProgressMode::Never);
        assert!(!p.is_on());
        let bar = p.bar("x", 3);
        bar.inc(1);
        assert!(bar.handle().is_hidden());
        assert_eq!(p.suspend(|| 7), 7);
    }
}
