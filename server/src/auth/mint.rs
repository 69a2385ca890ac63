//! `POST /api/tokens` (derive a narrower token) and `DELETE /api/tokens/{jti}` (revoke).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminCaller, Claims, Permission, Role, TokenCaller};
use crate::auth::AuthState;
use crate::db::format_ms;
use crate::error::{ApiJson, Error, Result};
use crate::openapi::ErrorBody;

/// The longest life of a token minted through the API.
pub const MAX_TTL_SECS: i64 = 24 * 60 * 60;

/// How many generations a token may be minted from tokens minted from
/// tokens: each carries every ancestor's `jti`, so revoking one reaches them all.
pub const MAX_GENERATIONS: usize = 8;

pub fn router() -> OpenApiRouter<AuthState> {
    OpenApiRouter::new().routes(routes!(mint)).routes(routes!(revoke))
}

#[derive(Deserialize, ToSchema)]
struct MintRequest {
    permissions: Vec<Permission>,
    /// 1 to 86400; the new token never outlives the calling one.
    ttl_seconds: i64,
}

/// A new token.
#[derive(Serialize, ToSchema)]
pub struct MintAnswer {
    pub token: String,
    /// Its id, by which an admin revokes it.
    pub jti: String,
    pub expires_at: String,
}

/// Derives a token holding at most what the calling token holds.
#[utoipa::path(
    post,
    path = "/api/tokens",
    tag = "tokens",
    request_body = MintRequest,
    responses((status = 201, body = MintAnswer), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "asks for more than the caller holds"),
              (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
async fn mint(
    State(state): State<AuthState>,
    TokenCaller(caller): TokenCaller,
    ApiJson(request): ApiJson<MintRequest>,
) -> Result<(StatusCode, Json<MintAnswer>)> {
    if !(1..=MAX_TTL_SECS).contains(&request.ttl_seconds) {
        return Err(Error::Invalid(format!("ttl_seconds must be between 1 and {MAX_TTL_SECS}")));
    }
    if request.permissions.is_empty() || request.permissions.len() > 64 {
        return Err(Error::Invalid("permissions must list 1 to 64 entries".into()));
    }
    for permission in &request.permissions {
        super::tokens::validate_pattern(&permission.topic)?;
        if permission.ops.is_empty() {
            return Err(Error::Invalid(format!("permission on {} has no ops", permission.topic)));
        }
        if caller.role != Role::Admin && !caller.covers(permission) {
            return Err(Error::Forbidden(format!(
                "cannot grant {:?} on {}: the calling token does not hold it",
                permission.ops, permission.topic
            )));
        }
    }
    if caller.parents.len() >= MAX_GENERATIONS {
        return Err(Error::Invalid(format!("tokens may be minted at most {MAX_GENERATIONS} generations deep")));
    }
    let now = state.clock.now_secs();
    // A derived token never outlives the one that minted it, and dies with it.
    let exp = (now + request.ttl_seconds).min(caller.exp);
    let mut claims = Claims::new(caller.sub, caller.name, Role::User, request.permissions, exp);
    claims.parents = caller.parents;
    if !caller.jti.is_empty() {
        claims.parents.push(caller.jti);
    }
    let token = state.tokens.sign(&claims);
    Ok((StatusCode::CREATED, Json(MintAnswer { token, jti: claims.jti, expires_at: format_ms(exp * 1000) })))
}

/// Revokes a token (admins): it is refused from now on and its open subscriptions close.
#[utoipa::path(
    delete,
    path = "/api/tokens/{jti}",
    tag = "tokens",
    params(("jti" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("session" = []))
)]
async fn revoke(State(state): State<AuthState>, _admin: AdminCaller, Path(jti): Path<String>) -> Result<StatusCode> {
    if jti.is_empty() || jti.len() > 64 {
        return Err(Error::BadRequest("not a token id".into()));
    }
    state.revocations.revoke(&state.db, &jti, state.clock.now_ms()).await?;
    tracing::info!(%jti, "token revoked");
    Ok(StatusCode::NO_CONTENT)
}
