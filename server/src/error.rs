//! The server's error type: every failure becomes API.md's error body with a stable code.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error a client can see. 5xx details are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// A room's publish topic takes only chat messages the pipeline can process.
    #[error("{0}")]
    NotAChatMessage(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid token")]
    InvalidToken,
    #[error("token expired")]
    TokenExpired,
    #[error("token revoked")]
    TokenRevoked,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    LanguageLocked(String),
    #[error("body larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("rate limited: retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("this token already holds {0} open subscriptions")]
    TooManySubscriptions(usize),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

/// The largest JSON body any endpoint reads (topics have their own, smaller limit).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a client is told when the database is busy.
const BUSY: &str = "the database is busy; try again shortly";

/// The embedded default's write connection: busy is worth a retry (503),
/// anything else is internal.
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        if is_busy(&e) { Error::busy() } else { Error::Internal(format!("database: {e}")) }
    }
}

/// SQLite's "busy" and "locked": another writer holds the lock.
pub fn is_busy(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    e.sqlite_error_code().is_some_and(|c| matches!(c, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

/// Whether a database error will likely pass by itself: the pool or the
/// engine is busy (SQLite's lock, PostgreSQL's serialization failures,
/// deadlocks, too many connections, a restart). Those answer 503 with
/// `Retry-After` instead of 500, so clients retry instead of giving up.
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // SQLite (primary and extended codes): BUSY, LOCKED, BUSY_RECOVERY,
            // BUSY_SNAPSHOT, LOCKED_SHAREDCACHE. PostgreSQL (SQLSTATE):
            // serialization_failure, deadlock_detected, too_many_connections,
            // admin_shutdown, cannot_connect_now.
            matches!(&*code, "5" | "6" | "261" | "517" | "262" | "40001" | "40P01" | "53300" | "57P01" | "57P03")
        }
        _ => false,
    }
}

impl Error {
    /// The database is busy: worth a retry (503 + `Retry-After`).
    pub fn busy() -> Self {
        Error::Unavailable(BUSY.into())
    }

    /// The stable snake_case code of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::MalformedJson(_) => "malformed_json",
            Error::NotAChatMessage(_) => "not_a_chat_message",
            Error::Unauthenticated => "unauthenticated",
            Error::InvalidToken => "invalid_token",
            Error::TokenExpired => "token_expired",
            Error::TokenRevoked => "token_revoked",
            Error::InvalidCredentials => "invalid_credentials",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::LanguageLocked(_) => "language_locked",
            Error::PayloadTooLarge(_) => "payload_too_large",
            Error::Invalid(_) => "invalid",
            Error::Conflict(_) => "conflict",
            Error::Database(e) if is_transient(e) => "unavailable",
            Error::Unavailable(_) => "unavailable",
            Error::RateLimited { .. } => "rate_limited",
            Error::TooManySubscriptions(_) => "too_many_subscriptions",
            Error::Database(_) | Error::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) | Error::MalformedJson(_) | Error::NotAChatMessage(_) => StatusCode::BAD_REQUEST,
            Error::Unauthenticated
            | Error::InvalidToken
            | Error::TokenExpired
            | Error::TokenRevoked
            | Error::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) | Error::LanguageLocked(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Database(e) if is_transient(e) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::RateLimited { .. } | Error::TooManySubscriptions(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The API.md error body for a status, code and message.
pub fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (status, Json(body)).into_response()
}

impl Error {
    /// What the client is told: the detail of internal failures goes to the
    /// log only.
    pub fn client_message(&self) -> String {
        if let Error::Database(e) = self
            && is_transient(e)
        {
            tracing::warn!(error = %e, "database busy");
            BUSY.to_owned()
        } else if matches!(self, Error::Database(_) | Error::Internal(_)) {
            tracing::error!(error = %self, "request failed");
            "internal error".to_owned()
        } else {
            self.to_string()
        }
    }

    /// When to try again, for the errors that pass.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Error::TooManySubscriptions(_) => Some(5),
            Error::Database(e) if is_transient(e) => Some(1),
            Error::Unavailable(_) => Some(1),
            _ => None,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.client_message();
        let mut response = error_body(status, self.code(), &message);
        if let Some(secs) = self.retry_after_secs()
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// `Json` whose rejections use the API error body (400 malformed, 413 too large).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> Error {
    match rejection {
        JsonRejection::JsonDataError(e) => Error::Invalid(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => Error::BadRequest("expected Content-Type: application/json".into()),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Error::PayloadTooLarge(MAX_BODY_BYTES)
        }
        other => Error::MalformedJson(other.body_text()),
    }
}

/// Turns axum's own plain-text rejections (unknown route, wrong method, body
/// limit) into the API error body, so nothing else reaches a client.
pub async fn api_error_shape(request: Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let is_json =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let status = response.status();
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    if response.headers().contains_key(header::CONTENT_TYPE)
        && response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
    {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "unsupported content type"),
        s if s.is_server_error() => ("internal", "internal error"),
        _ => ("bad_request", "bad request"),
    };
    let mut shaped = error_body(status, code, message);
    if let Some(v) = response.headers().get(header::RETRY_AFTER) {
        shaped.headers_mut().insert(header::RETRY_AFTER, v.clone());
    }
    shaped
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log sink the test can read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_internal_error_answers_a_generic_body_and_logs_the_detail() {
        let logs = Captured::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || sink.clone()).with_ansi(false).finish();
        let response = tracing::subscriber::with_default(subscriber, || {
            Error::Internal("disk /var/lib/parley full at row 42".into()).into_response()
        });
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        assert_eq!(&body[..], br#"{"error":{"code":"internal","message":"internal error"}}"#);
        let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("disk /var/lib/parley full at row 42"), "the detail is logged: {logged}");
    }
}
