//! `POST /api/tokens` (derive a narrower token) and `DELETE /api/tokens/{jti}` (revoke).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminCaller, Claims, Permission, Role, TokenCaller};
use crate::AppState;
use crate::db::format_ms;
use crate::error::{ApiJson, Error, Result};

/// The longest life of a token minted through the API.
pub const MAX_TTL_SECS: i64 = 24 * 60 * 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tokens", post(mint))
        .route("/api/tokens/{jti}", delete(revoke))
}

#[derive(Deserialize)]
struct MintRequest {
    permissions: Vec<Permission>,
    ttl_seconds: i64,
}

async fn mint(
    State(state): State<AppState>,
    TokenCaller(caller): TokenCaller,
    ApiJson(request): ApiJson<MintRequest>,
) -> Result<(StatusCode, Json<Value>)> {
    if !(1..=MAX_TTL_SECS).contains(&request.ttl_seconds) {
        return Err(Error::Invalid(format!(
            "ttl_seconds must be between 1 and {MAX_TTL_SECS}"
        )));
    }
    if request.permissions.is_empty() || request.permissions.len() > 64 {
        return Err(Error::Invalid(
            "permissions must list 1 to 64 entries".into(),
        ));
    }
    for permission in &request.permissions {
        crate::topics::validate_pattern(&permission.topic)?;
        if permission.ops.is_empty() {
            return Err(Error::Invalid(format!(
                "permission on {} has no ops",
                permission.topic
            )));
        }
        if caller.role != Role::Admin && !caller.covers(permission) {
            return Err(Error::Forbidden(format!(
                "cannot grant {:?} on {}: the calling token does not hold it",
                permission.ops, permission.topic
            )));
        }
    }
    let now = state.clock.now_secs();
    // A derived token never outlives the one that minted it.
    let exp = (now + request.ttl_seconds).min(caller.exp);
    let claims = Claims::new(
        caller.sub,
        caller.name,
        Role::User,
        request.permissions,
        exp,
    );
    let token = state.tokens.sign(&claims);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": token, "jti": claims.jti, "expires_at": format_ms(exp * 1000) })),
    ))
}

async fn revoke(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(jti): Path<String>,
) -> Result<StatusCode> {
    if jti.is_empty() || jti.len() > 64 {
        return Err(Error::BadRequest("not a token id".into()));
    }
    state
        .revocations
        .revoke(&state.db, &jti, state.clock.now_ms())
        .await?;
    tracing::info!(%jti, "token revoked");
    Ok(StatusCode::NO_CONTENT)
}
