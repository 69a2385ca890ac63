//! The OpenAPI description of the HTTP API, assembled from the handlers'
//! own annotations and types (utoipa), served at `GET /api/openapi.json`.

use std::sync::Arc;

use axum::Json;
use axum::routing::get;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// API.md's error body: `{"error": {"code", "message"}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable snake_case code and a human message.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// The document's fixed parts; paths come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Parley",
        description = "Topics with durable history and signed webhooks, rooms, and the translation pipeline's contract."
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("pt_…").build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::new("id"),
            )),
        );
    }
}

/// The route serving the finished document.
pub fn route<S: Clone + Send + Sync + 'static>(doc: utoipa::openapi::OpenApi) -> axum::Router<S> {
    let doc = Arc::new(doc);
    axum::Router::new().route("/api/openapi.json", get(move || async move { Json(doc.as_ref().clone()) }))
}
