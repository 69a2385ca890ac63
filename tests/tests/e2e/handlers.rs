//! Handler behaviour without a socket: requests go straight into the router
//! (`parley::service` and `tower::ServiceExt::oneshot`), on a fresh database
//! of the run's engine. Flows through the pipeline, crashes and the cluster
//! run on real servers (the other modules).

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use parley_e2e::{TempDir, fresh_database_url};
use serde_json::{Value, json};
use tower::ServiceExt as _;

struct Service {
    router: Router,
    _stop: parley::shutdown::ShutdownTrigger,
    _dir: TempDir,
}

async fn service() -> Service {
    let dir = TempDir::new("parley-oneshot");
    let mut config = parley::Config::for_tests(&dir.0.join("parley.db"));
    config.database_url = fresh_database_url(&dir.0).await;
    config.pipeline = parley::PipelineMode::External;
    let (router, stop) = parley::service(&config).await.unwrap();
    Service { router, _stop: stop, _dir: dir }
}

impl Service {
    /// Sends `request`; the status and the JSON body (`null` when it is not JSON).
    async fn call(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

fn post_json(uri: &str) -> axum::http::request::Builder {
    Request::post(uri).header(header::CONTENT_TYPE, "application/json")
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn unknown_routes_and_missing_or_bad_credentials_get_the_api_error_shape() {
    let service = service().await;
    let (status, body) = service.call(Request::get("/api/nothing-here").body(Body::empty()).unwrap()).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"), "{body}");
    let publish = |token: Option<&str>| {
        let mut request = post_json("/api/topics/news").header("idempotency-key", "k1");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.body(Body::from(json!({"text": "hi"}).to_string())).unwrap()
    };
    let (status, body) = service.call(publish(None)).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{body}");
    let (status, body) = service.call(publish(Some("tok_forged.AAAA"))).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "invalid_token"), "{body}");
}

#[tokio::test]
async fn oversized_malformed_and_cross_site_bodies_are_refused_before_any_work() {
    let service = service().await;
    let huge = json!({"display_name": "x".repeat(70 * 1024)}).to_string();
    let (status, body) = service.call(post_json("/api/auth/guest").body(Body::from(huge)).unwrap()).await;
    assert_eq!((status, code(&body)), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"), "{body}");
    let (status, body) =
        service.call(post_json("/api/auth/guest").body(Body::from(r#"{"display_name": "#)).unwrap()).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "malformed_json"), "{body}");
    let cross_site = post_json("/api/auth/guest")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(json!({"display_name": "Ana"}).to_string()))
        .unwrap();
    let (status, body) = service.call(cross_site).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "csrf_rejected"), "{body}");
}

#[tokio::test]
async fn a_guest_joins_and_visitors_see_only_the_public_fields_of_rooms() {
    let service = service().await;
    let (status, body) = service.call(Request::get("/api/rooms").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let lobby = body["rooms"].as_array().unwrap().iter().find(|r| r["name"] == "lobby").unwrap();
    let mut fields: Vec<&str> = lobby.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["languages", "moderation", "name", "title"], "{lobby}");
    let join = post_json("/api/auth/guest").body(Body::from(json!({"display_name": "Ana"}).to_string())).unwrap();
    let (status, body) = service.call(join).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["user"]["display_name"].as_str(), body["user"]["role"].as_str()), (Some("Ana"), Some("guest")));
}
