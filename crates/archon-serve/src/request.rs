//! What a handler reads off a request besides its path: the caller (from
//! the bearer token), the raw body (size-limited, parsed with JSON paths)
//! and the idempotency key.

use archon_core::input::{parse_json, InputError};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::handlers::AppState;
use crate::stewards::Caller;

/// The header a client sets on a write it may retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The longest idempotency key taken.
const MAX_KEY_LEN: usize = 200;
/// The name error messages give the body.
pub const BODY: &str = "request body";

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::MissingToken)?;
        // The scheme is case-insensitive (RFC 9110).
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::MissingToken)?;
        state
            .stewards
            .authenticate(token)
            .ok_or(ApiError::InvalidToken)
    }
}

/// The request body as sent, within the server's body limit.
pub struct RawBody(pub Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<RawBody, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge {
                    limit: state.body_limit,
                },
                _ => ApiError::BadRequest(rejection.body_text()),
            })
    }
}

impl RawBody {
    /// Decodes the body as `T`; an empty body reads as `{}`. Errors name the
    /// JSON path.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        self.value().and_then(|v| {
            archon_core::input::from_value(BODY, "$", &v).map_err(ApiError::InvalidBody)
        })
    }

    /// The body as a JSON value (`{}` when empty).
    pub fn value(&self) -> Result<serde_json::Value, ApiError> {
        let text = std::str::from_utf8(&self.0).map_err(|e| {
            ApiError::InvalidBody(InputError::new(BODY, "$", format!("not UTF-8: {e}")))
        })?;
        if text.trim().is_empty() {
            return Ok(serde_json::Value::Object(Default::default()));
        }
        parse_json(BODY, text).map_err(ApiError::InvalidBody)
    }
}

/// The `Idempotency-Key` header, when sent: printable ASCII, at most 200 characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| {
            !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic())
        })
        .ok_or_else(|| {
            ApiError::InvalidIdempotencyKey(format!(
                "must be 1 to {MAX_KEY_LEN} printable ASCII characters without spaces"
            ))
        })?;
    Ok(Some(key.to_string()))
}
