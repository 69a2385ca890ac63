//! CSRF protection for cookie-authenticated requests.
//!
//! Browsers tell the server where a request comes from (`Sec-Fetch-Site`,
//! `Origin`). An unsafe method from another site is refused before any
//! handler runs; clients that are not browsers send neither header and pass.

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::error_body;

/// Refuses cross-site POST/PUT/PATCH/DELETE with 403 `csrf_rejected`.
pub async fn csrf_guard(request: Request, next: Next) -> Response {
    if is_safe(request.method()) || same_origin(&request) {
        return next.run(request).await;
    }
    tracing::info!(path = %request.uri().path(), "cross-site request refused");
    error_body(StatusCode::FORBIDDEN, "csrf_rejected", "cross-site requests are not allowed")
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn same_origin(request: &Request) -> bool {
    let headers = request.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(fetch_site, Some("cross-site" | "same-site")) {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host =
        origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method("POST").uri("/api/auth/guest");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn same_origin_and_non_browser_requests_pass() {
        assert!(same_origin(&request(&[])));
        assert!(same_origin(&request(&[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000")])));
        assert!(same_origin(&request(&[("sec-fetch-site", "same-origin")])));
    }

    #[test]
    fn cross_site_requests_are_refused() {
        assert!(!same_origin(&request(&[("host", "127.0.0.1:3000"), ("origin", "https://evil.example")])));
        assert!(!same_origin(&request(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&request(&[("host", "127.0.0.1:3000"), ("origin", "null")])));
    }
}
