//! The endpoints and the router. Every act is the token's steward's
//! (`steward:<id>`), so the ledger's own rule, that only the steward of the
//! cluster a task is routed to now may accept, decline, start or report it,
//! applies exactly as for `archon tasks`. A task routed elsewhere (or none
//! at all) answers 403, the same body either way.

use std::sync::Arc;

use archon_core::clock::Clock;
use archon_core::input::InputError;
use archon_tasks::{
    Applied, Ledger, LedgerError, RequestKey, TaskRecord, TaskResult, TaskState, Transition,
};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{steward_actions, ApiError};
use crate::request::{idempotency_key, RawBody, BODY};
use crate::shared_ledger::SharedLedger;
use crate::stewards::{Caller, StewardsFile};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub ledger: SharedLedger,
    pub stewards: Arc<StewardsFile>,
    pub clock: Clock,
    pub body_limit: usize,
}

/// The API. Bodies above `state.body_limit` bytes are refused (413).
pub fn router(state: AppState) -> Router {
    let limit = state.body_limit;
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/ledger/head", get(ledger_head))
        .route("/v1/tasks", get(list_tasks))
        .route("/v1/tasks/{task_ref}", get(show_task))
        .route("/v1/tasks/{task_ref}/{act}", post(post_act))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        crate::openapi::DOCUMENT,
    )
}

async fn ledger_head(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let head = state
        .ledger
        .with(|ledger| ledger.head().map_err(|e| ApiError::from_ledger(e, None)))
        .await?;
    Ok(Json(match head {
        Some(head) => json!({ "seq": head.seq, "hash": head.hash }),
        None => json!({ "seq": 0, "hash": null }),
    }))
}

/// One line of `GET /v1/tasks`.
#[derive(Debug, Serialize)]
struct TaskSummary {
    task_ref: String,
    state: TaskState,
    activation_id: String,
    attempt: u32,
    routed_at: Option<String>,
    consent_deadline: Option<String>,
    description: String,
    actions: &'static [&'static str],
}

async fn list_tasks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let cluster = caller.cluster_id.clone();
    let tasks = state
        .ledger
        .with(move |ledger| ledger.tasks().map_err(|e| ApiError::from_ledger(e, None)))
        .await?;
    let mine: Vec<TaskSummary> = tasks
        .into_iter()
        .filter(|t| t.cluster_id.as_deref() == Some(cluster.as_str()))
        .map(|t| TaskSummary {
            actions: steward_actions(t.state),
            task_ref: t.task_ref,
            state: t.state,
            activation_id: t.activation_id,
            attempt: t.attempt,
            routed_at: t.routed_at,
            consent_deadline: t.consent_deadline,
            description: t.content.description,
        })
        .collect();
    Ok(Json(json!({
        "cluster_id": caller.cluster_id,
        "steward_id": caller.steward_id,
        "tasks": mine,
    })))
}

async fn show_task(
    State(state): State<AppState>,
    caller: Caller,
    Path(task_ref): Path<String>,
) -> Result<Json<TaskRecord>, ApiError> {
    state
        .ledger
        .with(move |ledger| visible_task(ledger, &caller, &task_ref))
        .await
        .map(Json)
}

/// The task, when it is routed to the caller's cluster now.
fn visible_task(ledger: &Ledger, caller: &Caller, task_ref: &str) -> Result<TaskRecord, ApiError> {
    let forbidden = || ApiError::Forbidden {
        task_ref: task_ref.to_string(),
    };
    let task = ledger
        .task(task_ref)
        .map_err(|e| ApiError::from_ledger(e, None))?
        .ok_or_else(forbidden)?;
    if task.cluster_id.as_deref() == Some(caller.cluster_id.as_str()) {
        Ok(task)
    } else {
        Err(forbidden())
    }
}

/// The body of accept and start: nothing, or an empty object.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclineBody {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /v1/tasks/{task_ref}/{act}`: accept, decline, start or result.
async fn post_act(
    State(state): State<AppState>,
    caller: Caller,
    Path((task_ref, act)): Path<(String, String)>,
    request: WriteRequest,
) -> Result<Response, ApiError> {
    let transition = match act.as_str() {
        "accept" => {
            request.body.json::<NoFields>()?;
            Transition::Accept
        }
        "decline" => {
            let body: DeclineBody = request.body.json()?;
            Transition::Decline {
                reason: body.reason,
            }
        }
        "start" => {
            request.body.json::<NoFields>()?;
            Transition::Start
        }
        "result" => Transition::Report {
            result: Box::new(reported_result(&caller, &request.body)?),
        },
        _ => return Err(ApiError::NotFound),
    };
    apply(state, caller, task_ref, transition, request.once).await
}

/// The body of `result`: the task result artifact `archon tasks report
/// --result` reads, checked the same way ([`TaskResult::from_json`]); a
/// steward it names must be the token's.
fn reported_result(caller: &Caller, body: &RawBody) -> Result<TaskResult, ApiError> {
    let result = TaskResult::from_json(BODY, &body.value()?).map_err(ApiError::InvalidBody)?;
    if !result.steward_id.is_empty() && result.steward_id != caller.steward_id {
        return Err(ApiError::InvalidBody(InputError::new(
            BODY,
            "$.steward_id",
            format!(
                "{} is not the steward of this token ({})",
                result.steward_id, caller.steward_id
            ),
        )));
    }
    Ok(result)
}

/// A POST's parts that the write rules read: the raw body, and the
/// idempotency key with the digest of the request it was sent with.
struct WriteRequest {
    body: RawBody,
    once: Option<Once>,
}

/// An `Idempotency-Key` and the sha256 of the request's method, path and body.
struct Once {
    key: String,
    request_sha256: String,
}

impl axum::extract::FromRequest<AppState> for WriteRequest {
    type Rejection = ApiError;

    async fn from_request(
        req: axum::extract::Request,
        state: &AppState,
    ) -> Result<WriteRequest, ApiError> {
        // Checked before the body is read, so a bad key costs nothing.
        let key = idempotency_key(req.headers())?;
        let (method, path) = (req.method().to_string(), req.uri().path().to_string());
        let body = RawBody::from_request(req, state).await?;
        let once = key.map(|key| Once {
            key,
            request_sha256: request_digest(&method, &path, &body.0),
        });
        Ok(WriteRequest { body, once })
    }
}

/// What identifies a request under its idempotency key.
fn request_digest(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), b"\n", path.as_bytes(), b"\n", body] {
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// Header on the answer to a retried request: the first answer again, nothing written.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

async fn apply(
    state: AppState,
    caller: Caller,
    task_ref: String,
    transition: Transition,
    once: Option<Once>,
) -> Result<Response, ApiError> {
    let clock = state.clock;
    let applied = state
        .ledger
        .with(move |ledger| {
            let actor = caller.actor();
            let visible = visible_task(ledger, &caller, &task_ref);
            let Some(once) = once else {
                let task = visible?;
                return ledger
                    .transition(&task_ref, transition, &actor, &clock)
                    .map(Applied::New)
                    .map_err(|e| ApiError::from_ledger(e, Some(task.state)));
            };
            let request = RequestKey {
                key: &once.key,
                request_sha256: &once.request_sha256,
            };
            let outcome = ledger.transition_once(&request, &task_ref, transition, &actor, &clock);
            match (visible, outcome) {
                (Ok(task), outcome) => {
                    outcome.map_err(|e| ApiError::from_ledger(e, Some(task.state)))
                }
                // A retry of an act that moved the task to another cluster
                // (a decline) still gets its first answer; the ledger's own
                // steward rule refuses anything else, and the refusal is told
                // as the same 403. Storage trouble stays a 500.
                (Err(_), Ok(applied)) => Ok(applied),
                (Err(_), Err(LedgerError::KeyReused { key })) => Err(ApiError::KeyReused { key }),
                (Err(forbidden), Err(e))
                    if e.is_refusal() || matches!(e, LedgerError::Conflict { .. }) =>
                {
                    Err(forbidden)
                }
                (Err(_), Err(e)) => Err(ApiError::from_ledger(e, None)),
            }
        })
        .await?;
    let replayed = applied.is_replayed();
    let mut response = Json(applied.into_inner()).into_response();
    if replayed {
        response.headers_mut().insert(
            REPLAYED_HEADER,
            axum::http::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}
