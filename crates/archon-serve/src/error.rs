//! Every error the API answers, and its status and JSON body
//! `{ "error": <code>, "message": <text>, … }`.

use archon_core::input::InputError;
use archon_tasks::{LedgerError, Refusal, TaskState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a bearer token is required (Authorization: Bearer <token>)")]
    MissingToken,
    #[error("the bearer token is not one of this server's stewards")]
    InvalidToken,
    /// Said the same way whether or not the task exists.
    #[error("task {task_ref} is not routed to your cluster")]
    Forbidden { task_ref: String },
    /// The state machine does not allow the move.
    #[error("{message}")]
    IllegalTransition {
        message: String,
        state: TaskState,
        allowed: &'static [TaskState],
    },
    /// The ledger refused the act for another reason (consent window closed,
    /// result already reported, result of another cluster, a concurrent change).
    #[error("{message}")]
    Refused {
        message: String,
        state: Option<TaskState>,
    },
    #[error("{}", .0.message)]
    InvalidBody(InputError),
    #[error("Idempotency-Key: {0}")]
    InvalidIdempotencyKey(String),
    #[error(
        "Idempotency-Key {key} was already used for another request (other method, path or body)"
    )]
    KeyReused { key: String },
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    BadRequest(String),
    #[error("no such endpoint")]
    NotFound,
    #[error("this endpoint does not take that method")]
    MethodNotAllowed,
    #[error("internal error: {0}")]
    Internal(String),
    /// Storage trouble; the detail goes to the server's log, not to the caller.
    #[error("the ledger failed; nothing was applied that is not in the ledger")]
    Ledger(LedgerError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingToken | ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::IllegalTransition { .. } | ApiError::Refused { .. } => StatusCode::CONFLICT,
            ApiError::InvalidBody(_)
            | ApiError::InvalidIdempotencyKey(_)
            | ApiError::KeyReused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Ledger(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MissingToken => "missing_token",
            ApiError::InvalidToken => "invalid_token",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::IllegalTransition { .. } => "illegal_transition",
            ApiError::Refused { .. } => "refused",
            ApiError::InvalidBody(_) => "invalid_body",
            ApiError::InvalidIdempotencyKey(_) => "invalid_idempotency_key",
            ApiError::KeyReused { .. } => "idempotency_key_reused",
            ApiError::TooLarge { .. } => "body_too_large",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Ledger(_) => "ledger_failed",
            ApiError::Internal(_) => "internal",
        }
    }

    /// A ledger error as the caller sees it; `state` is the task's state when
    /// the act was refused, for the allowed moves.
    pub fn from_ledger(error: LedgerError, state: Option<TaskState>) -> ApiError {
        match error {
            LedgerError::Refused(Refusal::Transition(t)) => ApiError::IllegalTransition {
                message: t.to_string(),
                state: t.from,
                allowed: t.from.allowed_next(),
            },
            LedgerError::Refused(other) => ApiError::Refused {
                message: other.to_string(),
                state,
            },
            LedgerError::KeyReused { key } => ApiError::KeyReused { key },
            conflict @ LedgerError::Conflict { .. } => ApiError::Refused {
                message: conflict.to_string(),
                state,
            },
            other => ApiError::Ledger(other),
        }
    }

    fn body(&self) -> Value {
        let mut body = json!({ "error": self.code(), "message": self.to_string() });
        match self {
            ApiError::IllegalTransition { state, allowed, .. } => {
                body["state"] = json!(state);
                body["allowed"] = json!(allowed);
                body["actions"] = json!(steward_actions(*state));
            }
            ApiError::Refused {
                state: Some(state), ..
            } => {
                body["state"] = json!(state);
                body["allowed"] = json!(state.allowed_next());
                body["actions"] = json!(steward_actions(*state));
            }
            ApiError::InvalidBody(e) => body["path"] = json!(e.path),
            ApiError::KeyReused { key } => body["key"] = json!(key),
            ApiError::TooLarge { limit } => body["limit"] = json!(limit),
            _ => {}
        }
        body
    }
}

/// The API's acts a steward can still make on a task in `state`.
pub fn steward_actions(state: TaskState) -> &'static [&'static str] {
    match state {
        TaskState::Routed => &["accept", "decline"],
        TaskState::Accepted => &["start", "decline"],
        // A reported task takes further results until it is settled.
        TaskState::InProgress | TaskState::Reported => &["result"],
        _ => &[],
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Ledger(e) => tracing::error!("ledger: {e}"),
            ApiError::Internal(e) => tracing::error!("{e}"),
            _ => {}
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        if matches!(self, ApiError::MissingToken | ApiError::InvalidToken) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_steward_action_is_a_move_the_state_allows() {
        for state in TaskState::ALL {
            for action in steward_actions(state) {
                let to = match *action {
                    "accept" => TaskState::Accepted,
                    "decline" => TaskState::Declined,
                    "start" => TaskState::InProgress,
                    "result" if state == TaskState::Reported => continue,
                    "result" => TaskState::Reported,
                    other => panic!("unknown action {other}"),
                };
                assert!(state.can_move_to(to), "{action} from {state}");
            }
        }
    }
}
