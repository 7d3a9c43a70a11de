//! The command delegate: any external program (a coding agent's CLI, a script)
//! run in the workspace once per phase.
//!
//! The template (`--delegate-cmd`) is split into words once, shell-style
//! (whitespace separates; `'...'` is literal; `"..."` and `\` escape), and each
//! placeholder is replaced inside its word. The program is executed directly,
//! never through a shell, so a substituted value is always exactly one argument
//! whatever it contains. A shell runs only when the template itself names one
//! (`sh -c '...'`); then pass values as positional arguments
//! (`sh -c 'make "$1"' sh {phase}`) rather than inside the script text.
//!
//! Placeholders: `{phase}` (test_implementation, implementation, validation),
//! `{step}` (1-3), `{workspace}` (absolute), `{task_ref}`, `{task_json}` (the handoff as
//! compact JSON) and `{task_file}` (the same JSON as a file in the workspace
//! records, absolute path). Exit status 0: the phase passed; 1: it ran and did not pass (for
//! validation: expected outcomes not met, the escalation path); anything else,
//! a signal, a program that cannot start, a run past the phase's timeout or
//! archon interrupted: the delegate failed (blocked). The program runs in its
//! own process group, killed with its children when it ends ([`crate::process`]).
//! A validator that prints nothing has produced no evidence for any outcome:
//! its checks do not pass, whatever its exit status.

use std::process::Command;
use std::time::Duration;

use crate::delegate::{
    Delegate, DelegateFailure, OutcomeCheck, Phase, PhaseRequest, PhaseWork, Verification,
};
use crate::report::escape_controls;

pub const PLACEHOLDERS: [&str; 6] = [
    "phase",
    "step",
    "workspace",
    "task_ref",
    "task_json",
    "task_file",
];

/// Lines of stdout and stderr kept as evidence.
const TAIL_LINES: usize = 20;
const TAIL_LINE_CHARS: usize = 300;
/// Time a phase's program may run unless `--delegate-timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A timeout as typed: seconds (`90`), or a number with `s`, `m` or `h` (`2s`, `30m`).
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 90, 2s, 30m, 1h)"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("{text:?}: unit {unit:?} is not s, m or h")),
    };
    if seconds == 0 {
        return Err("the delegate timeout must be at least 1s".into());
    }
    Ok(Duration::from_secs(seconds))
}

/// A parsed `--delegate-cmd` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandDelegate {
    words: Vec<String>,
    /// What the handoff's relative paths are relative to (the run root).
    root: std::path::PathBuf,
    timeout: Duration,
}

impl CommandDelegate {
    pub fn parse(template: &str) -> Result<CommandDelegate, String> {
        let words = split_words(template)?;
        if words.is_empty() {
            return Err("the delegate command template is empty".into());
        }
        for word in &words {
            for name in placeholder_names(word) {
                if !PLACEHOLDERS.contains(&name) {
                    return Err(format!(
                        "unknown placeholder {{{name}}} in the delegate command (known: {})",
                        PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(" ")
                    ));
                }
            }
        }
        Ok(CommandDelegate {
            words,
            root: std::path::PathBuf::new(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Resolves the handoff's relative paths (workspace, task file) against
    /// `root` instead of the current directory.
    pub fn rooted_at(self, root: &std::path::Path) -> CommandDelegate {
        CommandDelegate {
            root: root.to_path_buf(),
            ..self
        }
    }

    /// Each phase's program is killed, with its children, after `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> CommandDelegate {
        self.timeout = timeout;
        self
    }

    /// The argument vector for one phase.
    pub fn argv(&self, values: &[(&str, String)]) -> Vec<String> {
        self.words
            .iter()
            .map(|word| {
                values.iter().fold(word.clone(), |w, (name, value)| {
                    w.replace(&format!("{{{name}}}"), value)
                })
            })
            .collect()
    }
}

/// `{name}` occurrences whose name is lower-case letters and `_` (so `${1}` is left alone).
fn placeholder_names(word: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = word;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    names.push(name);
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    names
}

/// Shell-style word splitting without expansion.
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = current.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let word = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated ' in the delegate command".into()),
                    }
                }
            }
            '"' => {
                let word = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unterminated \" in the delegate command".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated \" in the delegate command".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => current.get_or_insert_with(String::new).push(c),
                None => return Err("trailing \\ in the delegate command".into()),
            },
            c => current.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = current {
        words.push(w);
    }
    Ok(words)
}

/// The last lines of a stream, each cut to a readable length, controls escaped.
fn tail(label: &str, bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    let mut out = vec![format!(
        "{label} (last {} of {} line(s)):",
        lines.len() - start,
        lines.len()
    )];
    out.extend(lines[start..].iter().map(|l| {
        let cut: String = l.chars().take(TAIL_LINE_CHARS).collect();
        format!("  {}", escape_controls(&cut))
    }));
    out
}

/// The first non-blank line of a stream, cut and escaped.
fn first_output_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let cut: String = line.chars().take(TAIL_LINE_CHARS).collect();
    Some(escape_controls(&cut))
}

/// An argument as it would be typed, for the evidence line.
fn display_arg(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

impl Delegate for CommandDelegate {
    fn kind(&self) -> &'static str {
        "command"
    }

    fn perform(&self, request: &PhaseRequest<'_>) -> Result<PhaseWork, DelegateFailure> {
        let task_json = serde_json::to_string(request.handoff).unwrap_or_default();
        // The program runs inside the workspace, so relative paths would point elsewhere.
        let absolute = |p: &std::path::Path| {
            let p = self.root.join(p);
            std::path::absolute(&p).unwrap_or(p).display().to_string()
        };
        let values = [
            ("phase", request.phase.as_str().to_string()),
            ("step", request.phase.step().to_string()),
            ("workspace", absolute(request.workspace)),
            ("task_ref", request.handoff.task_ref.clone()),
            ("task_json", task_json),
            ("task_file", absolute(request.task_file)),
        ];
        let argv = self.argv(&values);
        let shown: Vec<String> = argv.iter().map(|a| display_arg(a)).collect();
        let mut evidence = vec![format!("command: {}", shown.join(" "))];
        let (program, args) = argv.split_first().ok_or_else(|| DelegateFailure {
            message: "the delegate command is empty".into(),
            evidence: evidence.clone(),
        })?;
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(self.root.join(request.workspace));
        // Beside the task file, in the workspace records: a group a killed archon
        // left running there is killed before this phase's program starts.
        let marker = self
            .root
            .join(request.task_file)
            .with_file_name("delegate.pgid");
        let ran = crate::process::run(command, self.timeout, Some(&marker)).map_err(|e| {
            DelegateFailure {
                message: format!("could not start {program}: {e}"),
                evidence: evidence.clone(),
            }
        })?;
        let code = match &ran.ending {
            crate::process::Ending::Exited(status) => status.code(),
            _ => None,
        };
        let status = match &ran.ending {
            crate::process::Ending::Exited(s) => match s.code() {
                Some(code) => format!("exit status {code}"),
                None => "terminated by a signal".to_string(),
            },
            crate::process::Ending::TimedOut(t) => format!(
                "still running after the {}s delegate timeout; killed with its process group",
                t.as_secs_f64()
            ),
            crate::process::Ending::Interrupted(sig) => {
                format!("stopped: archon received signal {sig}; killed with its process group")
            }
        };
        evidence.push(status.clone());
        evidence.extend(tail("stdout", &ran.stdout));
        evidence.extend(tail("stderr", &ran.stderr));
        let passed = match code {
            Some(0) => true,
            Some(1) => false,
            _ => {
                return Err(DelegateFailure {
                    message: format!("{program} {status}"),
                    evidence,
                })
            }
        };
        let output = first_output_line(&ran.stdout).or_else(|| first_output_line(&ran.stderr));
        let outcome_checks = match request.phase {
            Phase::Validation => request
                .handoff
                .expected_outcomes
                .iter()
                .map(|o| OutcomeCheck {
                    expected_outcome: o.clone(),
                    passed: passed && output.is_some(),
                    notes: match &output {
                        Some(line) => format!("validator command: {status}; output: {line}"),
                        None => format!("validator command: {status}; it printed nothing, so there is no evidence of this outcome"),
                    },
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(PhaseWork {
            writes: Vec::new(),
            evidence,
            verification: Verification {
                passed,
                notes: format!("{} {status}", display_arg(program)),
            },
            outcome_checks,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell_without_expanding() {
        assert_eq!(
            split_words(r#"run  'a b' "c \"d\"" e\ f {phase}"#).unwrap(),
            ["run", "a b", "c \"d\"", "e f", "{phase}"]
        );
        assert!(split_words("x 'y").is_err());
        assert!(split_words("x \"y").is_err());
    }

    #[test]
    fn substitutes_inside_words_and_keeps_values_whole() {
        let d = CommandDelegate::parse("tool --phase={phase} {workspace}").unwrap();
        let argv = d.argv(&[
            ("phase", "validation".into()),
            ("workspace", "/tmp/a b; rm -rf x".into()),
        ]);
        assert_eq!(argv, ["tool", "--phase=validation", "/tmp/a b; rm -rf x"]);
    }

    #[test]
    fn unknown_placeholders_are_refused_but_shell_braces_pass() {
        let err = CommandDelegate::parse("tool {phsae}").unwrap_err();
        assert!(err.contains("{phsae}"), "{err}");
        assert!(CommandDelegate::parse("sh -c 'echo ${1}' sh {phase}").is_ok());
        assert!(CommandDelegate::parse("   ").is_err());
    }

    #[test]
    fn timeouts_parse_with_units() {
        assert_eq!(parse_timeout("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_timeout("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_timeout("1h").unwrap(), Duration::from_secs(3600));
        for bad in ["", "0", "2d", "x", "-1"] {
            assert!(parse_timeout(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn control_bytes_are_escaped_in_evidence() {
        let lines = tail("stdout", b"ok\x00\x1b[31mred\tend\n");
        assert_eq!(lines[1], "  ok\\u{0}\\u{1b}[31mred\tend");
        assert!(lines
            .iter()
            .all(|l| !l.chars().any(|c| c.is_control() && c != '\t')));
    }
}
