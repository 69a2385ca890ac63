//! The pipeline's error type and its mapping onto API.md's error body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::signature::SignatureError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while handling one webhook delivery.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid webhook signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("malformed delivery: {0}")]
    BadDelivery(String),
    #[error("unknown room {0}")]
    UnknownRoom(String),
    /// The topics server did not accept a publish or a lookup; the sender retries.
    #[error("topics server: {0}")]
    Upstream(String),
    /// Delivered in the original for these languages; the sender retries
    /// (after `retry_after_secs`) for the translation.
    #[error("translation pending for {languages}")]
    TranslationPending { languages: String, retry_after_secs: u64 },
}

impl Error {
    /// The stable code in the error body.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Signature(_) => "invalid_signature",
            Error::BadDelivery(_) => "bad_request",
            Error::UnknownRoom(_) => "unknown_room",
            Error::Upstream(_) => "upstream_unavailable",
            Error::TranslationPending { .. } => "translation_pending",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::Signature(_) => StatusCode::UNAUTHORIZED,
            Error::BadDelivery(_) => StatusCode::BAD_REQUEST,
            // A room deleted after the publish: retrying cannot help, and a
            // 4xx other than 410 still lets an admin see it in the delivery log.
            Error::UnknownRoom(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Upstream(_) | Error::TranslationPending { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "pipeline delivery failed");
        }
        let message = match &self {
            // Which check failed is not the sender's business.
            Error::Signature(_) => "invalid webhook signature".to_owned(),
            Error::Upstream(_) => "the topics server is unavailable; retry later".to_owned(),
            other => other.to_string(),
        };
        let body = serde_json::json!({"error": {"code": self.code(), "message": message}});
        let mut response = (status, Json(body)).into_response();
        if let Error::TranslationPending { retry_after_secs, .. } = self {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
        }
        response
    }
}
