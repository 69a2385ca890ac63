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

impl ApiError {
    /// What to tell the reader, in their language: the API's error codes are
    /// stable, its messages English; a code without a sentence of its own
    /// keeps the API's message, which names the field at fault.
    pub fn text(&self, t: &crate::i18n::Texts) -> String {
        let known = match self.code.as_str() {
            "network" => t.err_offline,
            "rate_limited" | "too_many_subscriptions" => t.err_rate_limited,
            "payload_too_large" => t.err_too_long,
            "unauthenticated" | "invalid_token" | "token_expired" | "token_revoked" => t.err_session,
            "forbidden" => t.err_forbidden,
            "not_found" => t.err_not_found,
            "language_locked" => t.err_locked,
            "unavailable" => t.err_unavailable,
            "invalid_credentials" => t.err_credentials,
            _ => return self.message.clone(),
        };
        known.to_owned()
    }
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

    fn document() -> Option<web_sys::Document> {
        web_sys::window()?.document()
    }

    pub fn browser_language() -> String {
        let Some(navigator) = web_sys::window().map(|w| w.navigator()) else { return String::new() };
        // The reader's first preferred language, then the browser's own.
        navigator.languages().get(0).as_string().or_else(|| navigator.language()).unwrap_or_default()
    }

    pub fn set_document_language(lang: &str, right_to_left: bool) {
        if let Some(root) = document().and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", lang);
            let _ = root.set_attribute("dir", if right_to_left { "rtl" } else { "ltr" });
        }
    }

    pub fn set_title(title: &str) {
        if let Some(document) = document() {
            document.set_title(title);
        }
    }

    pub fn page_hidden() -> bool {
        document().is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden)
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    pub fn stored(key: &str) -> Option<String> {
        storage()?.get_item(key).ok()?
    }

    pub fn store(key: &str, value: &str) {
        if let Some(storage) = storage() {
            let _ = storage.set_item(key, value);
        }
    }

    pub fn notifications_allowed() -> bool {
        web_sys::Notification::permission() == web_sys::NotificationPermission::Granted
    }

    pub fn ask_for_notifications() {
        let _ = web_sys::Notification::request_permission();
    }

    pub fn notify(title: &str, body: &str) {
        if notifications_allowed() {
            let options = web_sys::NotificationOptions::new();
            options.set_body(body);
            let _ = web_sys::Notification::new_with_options(title, &options);
        }
    }

    fn date(rfc3339: &str) -> js_sys::Date {
        js_sys::Date::new(&wasm_bindgen::JsValue::from_str(rfc3339))
    }

    fn options(pairs: &[(&str, &str)]) -> wasm_bindgen::JsValue {
        let object = js_sys::Object::new();
        for (key, value) in pairs {
            let _ = js_sys::Reflect::set(&object, &(*key).into(), &(*value).into());
        }
        object.into()
    }

    fn day_of(date: &js_sys::Date) -> String {
        format!("{:04}-{:02}-{:02}", date.get_full_year(), date.get_month() + 1, date.get_date())
    }

    pub fn now_ms() -> f64 {
        js_sys::Date::now()
    }

    pub fn local_day(rfc3339: &str) -> String {
        let date = date(rfc3339);
        if date.get_time().is_nan() { rfc3339.get(..10).unwrap_or("").to_owned() } else { day_of(&date) }
    }

    pub fn today_local() -> String {
        day_of(&js_sys::Date::new_0())
    }

    pub fn local_time(rfc3339: &str, lang: &str) -> String {
        let date = date(rfc3339);
        if date.get_time().is_nan() {
            return crate::wire::clock_time(rfc3339);
        }
        date.to_locale_time_string_with_options(lang, &options(&[("hour", "2-digit"), ("minute", "2-digit")])).into()
    }

    pub fn long_day(day: &str, lang: &str) -> String {
        let mut parts = day.split('-').map(|p| p.parse::<i32>().unwrap_or(0));
        let (Some(year), Some(month), Some(of_month)) = (parts.next(), parts.next(), parts.next()) else {
            return day.to_owned();
        };
        let date = js_sys::Date::new_with_year_month_day(year.max(0) as u32, month - 1, of_month);
        let this_year = js_sys::Date::new_0().get_full_year() as i32 == year;
        let mut wanted = vec![("weekday", "long"), ("month", "long"), ("day", "numeric")];
        if !this_year {
            wanted.push(("year", "numeric"));
        }
        date.to_locale_date_string(lang, &options(&wanted)).into()
    }

    pub fn time_ago(rfc3339: &str, lang: &str, now_ms: f64) -> Option<String> {
        let then = date(rfc3339).get_time();
        let minutes = ((now_ms - then) / 60_000.0).floor();
        if then.is_nan() || !(0.0..60.0).contains(&minutes) {
            return None;
        }
        let locales = js_sys::Array::of1(&lang.into());
        let format = js_sys::Intl::RelativeTimeFormat::new(&locales, &options(&[("numeric", "auto")]).into());
        let text = if minutes < 1.0 { format.format(0.0, "second") } else { format.format(-minutes, "minute") };
        Some(text.into())
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
    /// On the server: the request's first `Accept-Language`, so the page
    /// arrives in the language the browser will pick once it runs.
    pub fn browser_language() -> String {
        #[cfg(feature = "ssr")]
        if let Some(parts) = leptos::prelude::use_context::<http::request::Parts>() {
            let header = parts.headers.get(http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
            return header.and_then(|h| h.split([',', ';']).next()).unwrap_or("").trim().to_owned();
        }
        String::new()
    }
    pub fn set_document_language(_: &str, _: bool) {}
    pub fn set_title(_: &str) {}
    pub fn page_hidden() -> bool {
        false
    }
    pub fn stored(_: &str) -> Option<String> {
        None
    }
    pub fn store(_: &str, _: &str) {}
    pub fn notifications_allowed() -> bool {
        false
    }
    pub fn ask_for_notifications() {}
    pub fn notify(_: &str, _: &str) {}
    pub fn now_ms() -> f64 {
        0.0
    }
    pub fn local_day(rfc3339: &str) -> String {
        rfc3339.get(..10).unwrap_or("").to_owned()
    }
    pub fn today_local() -> String {
        String::new()
    }
    pub fn local_time(rfc3339: &str, _: &str) -> String {
        crate::wire::clock_time(rfc3339)
    }
    pub fn long_day(day: &str, _: &str) -> String {
        day.to_owned()
    }
    pub fn time_ago(_: &str, _: &str, _: f64) -> Option<String> {
        None
    }
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

/// How many messages of `room`, read in `lang`, came after `read` (the
/// newest `source_seq` this browser showed there): up to the latest 50.
///
/// # Errors
/// The API's error, or a network failure.
pub async fn unread_in(room: &str, lang: &str, read: i64) -> Result<usize, ApiError> {
    #[derive(Deserialize)]
    struct Page {
        messages: Vec<crate::wire::Envelope>,
    }
    let page: Page =
        fetch(Method::Get, &format!("/api/rooms/{room}/messages?lang={lang}&limit=50"), None, None).await?;
    Ok(page.messages.iter().filter(|m| m.source_seq > read && !m.deleted).count())
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

pub use browser::{
    ask_for_notifications, browser_language, local_day, local_time, long_day, notifications_allowed, notify, now_ms,
    page_hidden, set_document_language, set_title, store, stored, time_ago, today_local,
};

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
