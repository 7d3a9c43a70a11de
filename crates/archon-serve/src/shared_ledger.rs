//! The one ledger connection the server's handlers share. The ledger is
//! synchronous (SQLite): each request's work runs on tokio's blocking pool,
//! one at a time behind a mutex, so a request's read and write see one state
//! and a slow disk never stalls the async workers. Several server processes
//! (or `archon tasks` beside the server) are serialised by the ledger itself.

use std::sync::{Arc, Mutex, PoisonError};

use archon_tasks::Ledger;

use crate::error::ApiError;

#[derive(Clone)]
pub struct SharedLedger(Arc<Mutex<Ledger>>);

impl SharedLedger {
    pub fn new(ledger: Ledger) -> SharedLedger {
        SharedLedger(Arc::new(Mutex::new(ledger)))
    }

    /// Runs `work` with the ledger to itself.
    pub async fn with<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ledger) -> Result<T, ApiError> + Send + 'static,
    {
        let ledger = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            // A panic mid-request leaves no half-written state behind: every
            // ledger write is a transaction, so the connection stays usable.
            let mut ledger = ledger.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut ledger)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("request worker failed: {e}")))?
    }
}
