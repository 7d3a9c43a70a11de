//! archon-serve: `archon serve`, the stewards' authenticated HTTP/JSON API
//! over the governance ledger, for clusters on other machines.
//!
//! - [`stewards`]: the stewards file (token digests bound to a cluster and
//!   its steward), adding a steward, authenticating a token.
//! - [`handlers`]: the endpoints and the router; every act is the token's
//!   steward's, so the ledger's consent rules apply as for `archon tasks`.
//! - [`request`]: the caller, the size-limited body, the idempotency key.
//! - [`error`]: every error's status and JSON body.
//! - [`shared_ledger`]: the one ledger connection, used from the blocking pool.
//! - [`server`]: the listen rule (TLS off loopback), rustls, graceful stop.
//! - [`openapi`]: the document at `/v1/openapi.json`.

pub mod error;
pub mod handlers;
pub mod openapi;
pub mod request;
pub mod server;
pub mod shared_ledger;
pub mod stewards;

use std::sync::Arc;

use archon_core::clock::Clock;
use archon_tasks::Ledger;

pub use error::ApiError;
pub use handlers::{router, AppState};
pub use server::{check_listen, ListenOptions, Listening, ServeError, TlsFiles};
pub use shared_ledger::SharedLedger;
pub use stewards::{Caller, StewardsError, StewardsFile, DEFAULT_STEWARDS_FILE};

/// The largest request body taken (1 MiB); a result artifact is a few KB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// The API over `ledger` for `stewards`, acting at `clock`'s time.
pub fn app(
    ledger: Ledger,
    stewards: StewardsFile,
    clock: Clock,
    body_limit: usize,
) -> axum::Router {
    router(AppState {
        ledger: SharedLedger::new(ledger),
        stewards: Arc::new(stewards),
        clock,
        body_limit,
    })
}

/// Serves `app` on `options` until SIGINT or SIGTERM (see
/// [`archon_store::stop`]), on a runtime of its own; `on_listening` gets the
/// server's URL once the socket is bound.
pub fn run_until_stopped(
    options: &ListenOptions,
    app: axum::Router,
    on_listening: impl FnOnce(&str),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async {
        let listening = Listening::bind(options).await?;
        on_listening(&listening.url());
        listening.serve(app, stop_requested()).await
    })
}

/// Resolves once a stop signal was noted.
async fn stop_requested() {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    while archon_store::stop::requested_exit_code().is_none() {
        tick.tick().await;
    }
}
