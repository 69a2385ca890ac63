//! `POST /api/auth/guest` and `GET /api/me`: guest accounts with a session.

use axum::Json;
use axum::extract::State;
use parley_pipeline::moderate::{Policy, Reading, RoomWords, moderate};
use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use tower_sessions::Session;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{SESSION_USER_ID, SessionUser, User, UserRole};
use crate::auth::AuthState;
use crate::error::{ApiJson, Error, Result};
use crate::openapi::ErrorBody;

/// The longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 48;

pub fn router() -> OpenApiRouter<AuthState> {
    OpenApiRouter::new().routes(routes!(guest)).routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
struct GuestRequest {
    /// 1–48 characters.
    display_name: String,
}

/// The signed-in user.
#[derive(Serialize, ToSchema)]
pub struct UserAnswer {
    pub user: User,
    /// Locked languages granted to this user, as `room:lang`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<String>,
    /// The language this user last read a room in, offered first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_language: Option<String>,
}

/// Validates a display name: trimmed, 1–48 characters, no control or
/// invisible characters, and nothing any language's word list flags: a name
/// is shown to every reader beside every message, untranslated.
///
/// # Errors
/// [`Error::Invalid`] saying what is wrong.
pub fn clean_display_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid("display_name must not be empty".into()));
    }
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(Error::Invalid(format!("display_name must be at most {MAX_DISPLAY_NAME_CHARS} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::Invalid("display_name must not contain control characters".into()));
    }
    if name.chars().any(is_invisible) {
        return Err(Error::Invalid("display_name must not contain invisible characters".into()));
    }
    check_name_words("display_name", name)?;
    Ok(name.to_owned())
}

/// Refuses a name that moderation would mask for some reader.
///
/// # Errors
/// [`Error::Invalid`] naming the field.
pub fn check_name_words(field: &str, name: &str) -> Result<()> {
    let (_, verdict) = moderate(name, Reading::everyone(), Policy::Mask, &RoomWords::default());
    if verdict.is_clean() {
        Ok(())
    } else {
        Err(Error::Invalid(format!("{field} contains a word that is not allowed here; please choose another")))
    }
}

/// Zero-width and other format characters that would let two names look alike.
fn is_invisible(c: char) -> bool {
    matches!(c as u32, 0x00AD | 0x034F | 0x061C | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF)
}

/// Signs in as a new guest: a user without a password, and a session cookie.
#[utoipa::path(
    post,
    path = "/api/auth/guest",
    tag = "auth",
    request_body = GuestRequest,
    responses((status = 200, body = UserAnswer, description = "and a session cookie"),
              (status = 429, body = ErrorBody, description = "too many guests from this address; see Retry-After"),
              (status = 403, body = ErrorBody, description = "cross-site request"),
              (status = 422, body = ErrorBody))
)]
async fn guest(
    State(state): State<AuthState>,
    client: super::door::ClientAddr,
    session: Session,
    ApiJson(request): ApiJson<GuestRequest>,
) -> Result<Json<UserAnswer>> {
    state.door.guests.check(&client.key(), state.clock.now_ms())?;
    let db = state.db.clone();
    let display_name = clean_display_name(&request.display_name)?;
    let user = User {
        id: format!("u_{}", ulid::Ulid::new().to_string().to_lowercase()),
        username: None,
        display_name,
        role: UserRole::Guest,
    };
    sqlx::query("insert into users (id, display_name, role, created_at) values ($1, $2, $3, $4)")
        .bind(&user.id)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(state.clock.now_ms())
        .execute(&db)
        .await?;
    // A new identity gets a new session id: never keep one chosen before sign-in.
    session.cycle_id().await.map_err(|e| Error::Internal(format!("session store: {e}")))?;
    session.insert(SESSION_USER_ID, &user.id).await.map_err(|e| Error::Internal(format!("session store: {e}")))?;
    Ok(Json(UserAnswer { user, grants: Vec::new(), default_language: None }))
}

/// The user of this session.
#[utoipa::path(
    get,
    path = "/api/me",
    tag = "auth",
    responses((status = 200, body = UserAnswer), (status = 401, body = ErrorBody)),
    security(("session" = []))
)]
async fn me(State(db): State<AnyPool>, SessionUser(user): SessionUser) -> Result<Json<UserAnswer>> {
    let grants: Vec<(String,)> = sqlx::query_as("select room || ':' || lang from user_languages where user_id = $1")
        .bind(&user.id)
        .fetch_all(&db)
        .await?;
    let (default_language,): (Option<String>,) =
        sqlx::query_as("select default_language from users where id = $1").bind(&user.id).fetch_one(&db).await?;
    Ok(Json(UserAnswer { user, grants: grants.into_iter().map(|(g,)| g).collect(), default_language }))
}
