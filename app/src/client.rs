//! Calls to the Parley API from the browser.
//!
//! In the `hydrate` build these are real HTTP and WebSocket calls. On the
//! server they are never invoked (effects and event handlers run only in the
//! browser); the `ssr` build has inert versions so components compile once.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::wire::{JoinAnswer, Me, Room};

/// A failed call: the HTTP status (0 without one), the API's error code and its message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// HTTP methods the UI uses.
#[derive(Debug, Clone, Copy)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

#[cfg(feature = "hydrate")]
mod browser {
    use futures_util::StreamExt as _;
    use gloo_net::http::{Request, RequestBuilder};
    use gloo_net::websocket::Message;
    use gloo_net::websocket::futures::WebSocket;
    use serde_json::Value;

    use super::{ApiError, Method};
    use crate::wire::ErrorBody;

    fn network(e: impl std::fmt::Display) -> ApiError {
        ApiError { status: 0, code: "network".into(), message: format!("network error: {e}") }
    }

    /// One API call; answers with the body's text (empty for 204).
    pub async fn call(
        method: Method,
        url: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Result<String, ApiError> {
        let mut builder: RequestBuilder = match method {
            Method::Get => Request::get(url),
            Method::Post => Request::post(url),
            Method::Put => Request::put(url),
            Method::Delete => Request::delete(url),
        };
        if let Some(token) = bearer {
            builder = builder.header("Authorization", &format!("Bearer {token}"));
        }
        let response = match body {
            Some(body) => builder.json(body).map_err(network)?.send().await,
            None => builder.send().await,
        }
        .map_err(network)?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(text);
        }
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(e) => Err(ApiError { status, code: e.error.code, message: e.error.message }),
            Err(_) => Err(ApiError { status, code: "http".into(), message: format!("HTTP {status}") }),
        }
    }

    fn ws_base() -> String {
        let location = web_sys::window().map(|w| w.location());
        let protocol = location.as_ref().and_then(|l| l.protocol().ok()).unwrap_or_default();
        let host = location.as_ref().and_then(|l| l.host().ok()).unwrap_or_default();
        let scheme = if protocol == "https:" { "wss" } else { "ws" };
        format!("{scheme}://{host}")
    }

    pub async fn subscribe(
        topic: &str,
        token: &str,
        resume_after: Option<i64>,
        on_open: impl FnOnce(),
        mut on_text: impl FnMut(String),
    ) -> Result<(), ApiError> {
        let url = format!("{}{}", ws_base(), super::subscribe_path(topic, resume_after));
        let protocols = super::subscribe_protocols(token);
        let mut socket = WebSocket::open_with_protocols(&url, &protocols).map_err(network)?;
        let mut opened = Some(on_open);
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Text(text)) => {
                    if let Some(f) = opened.take() {
                        f();
                    }
                    on_text(text);
                }
                Ok(Message::Bytes(_)) => {}
                Err(e) => return Err(network(e)),
            }
        }
        Ok(())
    }

    pub async fn sleep_ms(ms: u32) {
        gloo_timers::future::TimeoutFuture::new(ms).await;
    }

    pub fn navigate(path: &str) {
        if let Some(window) = web_sys::window() {
            let _ = window.location().set_href(path);
        }
    }
}

/// The path of a topic's WebSocket subscription. It carries no token: URLs
/// end up in access logs and browser history, so the token travels in the
/// `Sec-WebSocket-Protocol` header instead ([`subscribe_protocols`]).
pub fn subscribe_path(topic: &str, resume_after: Option<i64>) -> String {
    match resume_after {
        Some(n) => format!("/api/topics/{topic}/subscribe?resume_after={n}"),
        None => format!("/api/topics/{topic}/subscribe"),
    }
}

/// The subprotocols a subscription offers: `parley`, which the server
/// selects, and `parley.token.{token}`, which carries the token.
pub fn subscribe_protocols(token: &str) -> [String; 2] {
    ["parley".to_owned(), format!("parley.token.{token}")]
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    //! Server-side stand-ins: never called, since they are reached only from
    //! effects and event handlers, which run in the browser alone.
    use serde_json::Value;

    use super::{ApiError, Method};

    fn not_in_browser() -> ApiError {
        ApiError { status: 0, code: "not_in_browser".into(), message: "only available in the browser".into() }
    }

    pub async fn call(_: Method, _: &str, _: Option<&Value>, _: Option<&str>) -> Result<String, ApiError> {
        Err(not_in_browser())
    }
    pub async fn subscribe(
        _: &str,
        _: &str,
        _: Option<i64>,
        _: impl FnOnce(),
        _: impl FnMut(String),
    ) -> Result<(), ApiError> {
        Err(not_in_browser())
    }
    pub async fn sleep_ms(_: u32) {}
    pub fn navigate(_: &str) {}
}

/// Calls the API and reads a JSON answer.
///
/// # Errors
/// The API's error, or a network or decoding failure.
pub async fn fetch<T: DeserializeOwned>(
    method: Method,
    url: &str,
    body: Option<Value>,
    bearer: Option<&str>,
) -> Result<T, ApiError> {
    let text = browser::call(method, url, body.as_ref(), bearer).await?;
    serde_json::from_str(if text.is_empty() { "null" } else { &text }).map_err(|e| ApiError {
        status: 0,
        code: "decode".into(),
        message: format!("unexpected answer: {e}"),
    })
}

/// Calls the API for its effect only.
///
/// # Errors
/// The API's error, or a network failure.
pub async fn act(method: Method, url: &str, body: Option<Value>) -> Result<(), ApiError> {
    browser::call(method, url, body.as_ref(), None).await.map(|_| ())
}

/// The API's raw text answer (e.g. `/metrics`).
///
/// # Errors
/// The API's error, or a network failure.
pub async fn text(url: &str) -> Result<String, ApiError> {
    browser::call(Method::Get, url, None, None).await
}

#[derive(Deserialize)]
struct UserOnly {
    user: crate::wire::User,
}

/// Creates a guest user and its session cookie.
pub async fn guest(display_name: &str) -> Result<crate::wire::User, ApiError> {
    let answer: UserOnly =
        fetch(Method::Post, "/api/auth/guest", Some(json!({ "display_name": display_name })), None).await?;
    Ok(answer.user)
}

/// Signs in with a password.
pub async fn login(username: &str, password: &str) -> Result<crate::wire::User, ApiError> {
    let body = json!({ "username": username, "password": password });
    Ok(fetch::<UserOnly>(Method::Post, "/api/auth/login", Some(body), None).await?.user)
}

/// Creates an account and signs it in.
pub async fn signup(username: &str, password: &str, display_name: &str) -> Result<crate::wire::User, ApiError> {
    let body = json!({ "username": username, "password": password, "display_name": display_name });
    Ok(fetch::<UserOnly>(Method::Post, "/api/auth/signup", Some(body), None).await?.user)
}

/// Signs out.
pub async fn logout() -> Result<(), ApiError> {
    act(Method::Post, "/api/auth/logout", None).await
}

/// The signed-in user and their granted languages.
pub async fn me() -> Result<Me, ApiError> {
    fetch(Method::Get, "/api/me", None, None).await
}

/// The rooms and their languages.
pub async fn rooms() -> Result<Vec<Room>, ApiError> {
    #[derive(Deserialize)]
    struct Answer {
        rooms: Vec<Room>,
    }
    Ok(fetch::<Answer>(Method::Get, "/api/rooms", None, None).await?.rooms)
}

/// Joins `room` reading `language`: a token and the two topics.
pub async fn join(room: &str, language: &str) -> Result<JoinAnswer, ApiError> {
    fetch(Method::Post, &format!("/api/rooms/{room}/join"), Some(json!({ "language": language })), None).await
}

/// Publishes to a room's publish topic (a message, an edit or a deletion); returns its `seq`.
pub async fn publish(topic: &str, token: &str, value: Value) -> Result<i64, ApiError> {
    #[derive(Deserialize)]
    struct Answer {
        seq: i64,
    }
    Ok(fetch::<Answer>(Method::Post, &format!("/api/topics/{topic}"), Some(value), Some(token)).await?.seq)
}

/// A page of a topic's history (newest `limit` before `before_seq`), oldest first, as `(seq, value)`.
pub async fn history(
    topic: &str,
    token: &str,
    before_seq: Option<i64>,
    limit: u32,
) -> Result<Vec<(i64, Value)>, ApiError> {
    #[derive(Deserialize)]
    struct Frame {
        seq: i64,
        value: Value,
    }
    #[derive(Deserialize)]
    struct Page {
        items: Vec<Frame>,
    }
    let before = before_seq.map(|s| format!("&before_seq={s}")).unwrap_or_default();
    let url = format!("/api/topics/{topic}/items?limit={limit}{before}");
    let page: Page = fetch(Method::Get, &url, None, Some(token)).await?;
    Ok(page.items.into_iter().map(|f| (f.seq, f.value)).collect())
}

/// Reads a topic over a WebSocket until it closes, handing each text frame
/// to `on_text`; with `resume_after`, first every retained item after it.
pub async fn subscribe(
    topic: &str,
    token: &str,
    resume_after: Option<i64>,
    on_open: impl FnOnce(),
    on_text: impl FnMut(String),
) -> Result<(), ApiError> {
    browser::subscribe(topic, token, resume_after, on_open, on_text).await
}

/// Waits `ms` milliseconds.
pub async fn sleep_ms(ms: u32) {
    browser::sleep_ms(ms).await;
}

/// Loads another page.
pub fn navigate(path: &str) {
    browser::navigate(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls_carry_no_token() {
        let path = subscribe_path("lobby-subscribe-pt", Some(41));
        assert_eq!(path, "/api/topics/lobby-subscribe-pt/subscribe?resume_after=41");
        assert!(!subscribe_path("t", None).contains("token"));
        assert_eq!(subscribe_protocols("pt_abc.def"), ["parley".to_owned(), "parley.token.pt_abc.def".to_owned()]);
    }
}
