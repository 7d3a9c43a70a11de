//! The one ledger connection the server's handlers share. The ledger is
//! synchronous (SQLite): each request's work runs on tokio's blocking pool,
//! one at a time behind a mutex, so a request's read and write see one state
//! and a slow disk never stalls the async workers. Several server processes
//! (or `archon tasks` beside the server) are serialised by the ledger itself.

use std::sync::{Arc, Mutex, PoisonError};

use archon_tasks::Ledger;

use crate::error::ApiError;

#[derive(Clone)]
pub struct SharedLedger(Arc<Owned>);

/// The ledger, closed off the async workers: closing a PostgreSQL ledger
/// blocks on its own runtime, which tokio refuses inside an async context.
struct Owned(Mutex<Option<Ledger>>);

impl Drop for Owned {
    fn drop(&mut self) {
        let ledger = self
            .0
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(ledger) = ledger {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Nothing to report if closing fails: every write was committed.
                let _ = std::thread::spawn(move || drop(ledger)).join();
            }
        }
    }
}

impl SharedLedger {
    pub fn new(ledger: Ledger) -> SharedLedger {
        SharedLedger(Arc::new(Owned(Mutex::new(Some(ledger)))))
    }

    /// Runs `work` with the ledger to itself.
    pub async fn with<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ledger) -> Result<T, ApiError> + Send + 'static,
    {
        let shared = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            // A panic mid-request leaves no half-written state behind: every
            // ledger write is a transaction, so the connection stays usable.
            let mut ledger = shared.0.lock().unwrap_or_else(PoisonError::into_inner);
            match ledger.as_mut() {
                Some(ledger) => work(ledger),
                None => Err(ApiError::Internal("the ledger is closed".into())),
            }
        })
        .await
        .map_err(|e| ApiError::Internal(format!("request worker failed: {e}")))?
    }
}
