//! The chain's errors, in one taxonomy: bad input or usage, I/O, internal.

use std::path::PathBuf;

use crate::stage::{Stage, StageError};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Another process holds the run root's lock.
    #[error("run root {} is in use by {}", root.display(), match pid { Some(pid) => format!("pid {pid}"), None => "another process".to_string() })]
    InUse { root: PathBuf, pid: Option<u32> },
    /// The input or the flags are wrong: fix them and run again.
    #[error("{0}")]
    BadInput(String),
    // The cause is part of the message and the source, as in `StoreError::Io`;
    // `error_text::with_causes` says it once.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] archon_store::StoreError),
    #[error(transparent)]
    Ledger(#[from] archon_tasks::LedgerError),
    /// A stage crate's error, with what was being done (the CLI's message).
    #[error("{context}")]
    Context { context: String, source: StageError },
    /// A stage crate's error, whose message says it all.
    #[error(transparent)]
    Failed(StageError),
    /// The cause is the `source`, not part of the message: a [`Context`]'s
    /// message holds only what was being done, and its own cause follows in the
    /// chain (`{:#}`).
    ///
    /// [`Context`]: PipelineError::Context
    #[error("stage {stage}", stage = stage.name())]
    Stage { stage: Stage, source: StageError },
}

/// Answers the model server failed to give: the stage writes nothing from them.
impl From<archon_core::agent_port::ServerFailed> for PipelineError {
    fn from(e: archon_core::agent_port::ServerFailed) -> Self {
        PipelineError::BadInput(e.to_string())
    }
}

/// What kind of failure an error is: the CLI says which in its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input or usage: the caller can fix it.
    BadInput,
    /// The file system refused (a full disk, a permission, a vanished file).
    Io,
    /// The ledger's database, or a broken invariant.
    Internal,
}

impl ErrorKind {
    /// How the CLI introduces an error of this kind (after `error: `).
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::BadInput => "",
            ErrorKind::Io => "I/O failure (not bad input): ",
            ErrorKind::Internal => "internal failure (not bad input): ",
        }
    }
}

impl PipelineError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> PipelineError {
        PipelineError::Io {
            path: path.into(),
            error: source,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            PipelineError::InUse { .. } | PipelineError::BadInput(_) => ErrorKind::BadInput,
            PipelineError::Io { error, .. } => io_kind(error),
            PipelineError::Store(e) => kind_of(e),
            PipelineError::Ledger(archon_tasks::LedgerError::Refused(_)) => ErrorKind::BadInput,
            PipelineError::Ledger(_) => ErrorKind::Internal,
            PipelineError::Stage { source, .. }
            | PipelineError::Context { source, .. }
            | PipelineError::Failed(source) => kind_of(source.as_ref()),
        }
    }
}

fn io_kind(e: &std::io::Error) -> ErrorKind {
    if caller_can_fix(e) {
        ErrorKind::BadInput
    } else {
        ErrorKind::Io
    }
}

/// I/O errors that name a wrong path or file (missing, a folder where a file
/// should be, too large, not readable): bad input. The others (a full disk, a
/// read-only file system, a device error) are I/O failures.
fn caller_can_fix(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        NotFound
            | AlreadyExists
            | IsADirectory
            | NotADirectory
            | DirectoryNotEmpty
            | InvalidInput
            | InvalidData
            | InvalidFilename
            | FileTooLarge
            | PermissionDenied
    )
}

/// The kind of any error, by what its chain holds: an I/O error the caller
/// cannot fix is I/O, a ledger failure other than a refusal is internal,
/// anything else is bad input (stages report bad input as their errors).
pub fn kind_of(error: &(dyn std::error::Error + 'static)) -> ErrorKind {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(p) = e.downcast_ref::<PipelineError>() {
            if !matches!(
                p,
                PipelineError::Stage { .. }
                    | PipelineError::Context { .. }
                    | PipelineError::Failed(_)
            ) {
                return p.kind();
            }
        }
        if let Some(l) = e.downcast_ref::<archon_tasks::LedgerError>() {
            return match l {
                archon_tasks::LedgerError::Refused(_) => ErrorKind::BadInput,
                _ => ErrorKind::Internal,
            };
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if !caller_can_fix(io) {
                return ErrorKind::Io;
            }
        }
        next = e.source();
    }
    ErrorKind::BadInput
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_not_bad_input() {
        let full = std::io::Error::from_raw_os_error(28); // ENOSPC
        let e = PipelineError::io("/run/x", full);
        assert_eq!(e.kind(), ErrorKind::Io);
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let stage = PipelineError::Stage {
            stage: Stage::Review,
            source: Box::new(missing),
        };
        assert_eq!(stage.kind(), ErrorKind::BadInput);
        let disk = PipelineError::Stage {
            stage: Stage::Review,
            source: Box::new(std::io::Error::from_raw_os_error(28)),
        };
        assert_eq!(disk.kind(), ErrorKind::Io);
        let folder = std::io::Error::from(std::io::ErrorKind::IsADirectory);
        assert_eq!(kind_of(&folder), ErrorKind::BadInput);
        // A stage's store write that hit a full disk, behind the stage's own error.
        let store = archon_store::StoreError::io(
            std::path::Path::new("run/review/a.json"),
            std::io::Error::from_raw_os_error(28),
        );
        let review = archon_review::io::ReviewError::from(store);
        let stage = PipelineError::Stage {
            stage: Stage::Review,
            source: Box::new(review),
        };
        assert_eq!(stage.kind(), ErrorKind::Io);
        let text = archon_core::error_text::with_causes(&stage);
        assert_eq!(text.matches("os error 28").count(), 1, "{text}");
    }

    #[test]
    fn a_chain_names_each_cause_once() {
        let invalid = PipelineError::Context {
            context: "invalid session s".into(),
            source: Box::new(std::io::Error::other("mega-motions.json: $[5]: EOF")),
        };
        let stage = PipelineError::Stage {
            stage: Stage::Review,
            source: Box::new(invalid),
        };
        assert_eq!(
            archon_core::error_text::with_causes(&stage),
            "stage review: invalid session s: mega-motions.json: $[5]: EOF"
        );
        let missing = std::io::Error::from_raw_os_error(2); // ENOENT
        let message = missing.to_string();
        let io = PipelineError::io("/run/x", missing);
        assert_eq!(
            archon_core::error_text::with_causes(&io),
            format!("/run/x: {message}")
        );
    }

    #[test]
    fn a_database_failure_is_internal() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("governance.db");
        std::fs::write(
            &path,
            b"this is not a database, it is a text file of 40 bytes",
        )
        .expect("write");
        let Err(err) = archon_tasks::Ledger::open(&path) else {
            panic!("a text file opened as a ledger");
        };
        assert_eq!(PipelineError::from(err).kind(), ErrorKind::Internal);
    }

    #[test]
    fn in_use_names_the_root_and_the_pid() {
        let e = PipelineError::InUse {
            root: "runs/a".into(),
            pid: Some(42),
        };
        assert_eq!(e.to_string(), "run root runs/a is in use by pid 42");
        assert_eq!(e.kind(), ErrorKind::BadInput);
    }
}
