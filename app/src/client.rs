//! Calls to the Parley API from the browser.
//!
//! In the `hydrate` build these are real HTTP and WebSocket calls. On the
//! server they are never invoked (effects and event handlers run only in the
//! browser); the `ssr` build has inert versions so components compile once.

use crate::wire::{JoinAnswer, Room, User};

/// A failed call: the API's error code (or `network`) and its message.
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

#[cfg(feature = "hydrate")]
mod browser {
    use futures_util::StreamExt as _;
    use gloo_net::http::{Request, Response};
    use gloo_net::websocket::Message;
    use gloo_net::websocket::futures::WebSocket;
    use serde::Deserialize;
    use serde::de::DeserializeOwned;
    use serde_json::json;

    use super::ApiError;
    use crate::wire::{ErrorBody, JoinAnswer, Room, User};

    fn network(e: impl std::fmt::Display) -> ApiError {
        ApiError { status: 0, code: "network".into(), message: format!("network error: {e}") }
    }

    async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
        let status = response.status();
        if (200..300).contains(&status) {
            return response.json::<T>().await.map_err(network);
        }
        match response.json::<ErrorBody>().await {
            Ok(body) => Err(ApiError { status, code: body.error.code, message: body.error.message }),
            Err(_) => Err(ApiError { status, code: "http".into(), message: format!("HTTP {status}") }),
        }
    }

    pub async fn guest(display_name: &str) -> Result<User, ApiError> {
        #[derive(Deserialize)]
        struct Answer {
            user: User,
        }
        let response = Request::post("/api/auth/guest")
            .json(&json!({ "display_name": display_name }))
            .map_err(network)?
            .send()
            .await
            .map_err(network)?;
        Ok(read::<Answer>(response).await?.user)
    }

    pub async fn me() -> Result<User, ApiError> {
        #[derive(Deserialize)]
        struct Answer {
            user: User,
        }
        let response = Request::get("/api/me").send().await.map_err(network)?;
        Ok(read::<Answer>(response).await?.user)
    }

    pub async fn rooms() -> Result<Vec<Room>, ApiError> {
        #[derive(Deserialize)]
        struct Answer {
            rooms: Vec<Room>,
        }
        let response = Request::get("/api/rooms").send().await.map_err(network)?;
        Ok(read::<Answer>(response).await?.rooms)
    }

    pub async fn join(room: &str, language: &str) -> Result<JoinAnswer, ApiError> {
        let response = Request::post(&format!("/api/rooms/{room}/join"))
            .json(&json!({ "language": language }))
            .map_err(network)?
            .send()
            .await
            .map_err(network)?;
        read(response).await
    }

    pub async fn publish(topic: &str, token: &str, text: &str, lang: &str) -> Result<i64, ApiError> {
        #[derive(Deserialize)]
        struct Answer {
            seq: i64,
        }
        let response = Request::post(&format!("/api/topics/{topic}"))
            .header("Authorization", &format!("Bearer {token}"))
            .json(&json!({ "text": text, "lang": lang }))
            .map_err(network)?
            .send()
            .await
            .map_err(network)?;
        Ok(read::<Answer>(response).await?.seq)
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
        resume_after: i64,
        on_open: impl FnOnce(),
        mut on_text: impl FnMut(String),
    ) -> Result<(), ApiError> {
        let url = format!("{}/api/topics/{topic}/subscribe?token={token}&resume_after={resume_after}", ws_base());
        let mut socket = WebSocket::open(&url).map_err(network)?;
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

#[cfg(not(feature = "hydrate"))]
mod browser {
    //! Server-side stand-ins: never called, since they are reached only from
    //! effects and event handlers, which run in the browser alone.
    use super::ApiError;
    use crate::wire::{JoinAnswer, Room, User};

    fn not_in_browser() -> ApiError {
        ApiError { status: 0, code: "not_in_browser".into(), message: "only available in the browser".into() }
    }

    pub async fn guest(_: &str) -> Result<User, ApiError> {
        Err(not_in_browser())
    }
    pub async fn me() -> Result<User, ApiError> {
        Err(not_in_browser())
    }
    pub async fn rooms() -> Result<Vec<Room>, ApiError> {
        Err(not_in_browser())
    }
    pub async fn join(_: &str, _: &str) -> Result<JoinAnswer, ApiError> {
        Err(not_in_browser())
    }
    pub async fn publish(_: &str, _: &str, _: &str, _: &str) -> Result<i64, ApiError> {
        Err(not_in_browser())
    }
    pub async fn subscribe(_: &str, _: &str, _: i64, _: impl FnOnce(), _: impl FnMut(String)) -> Result<(), ApiError> {
        Err(not_in_browser())
    }
    pub async fn sleep_ms(_: u32) {}
    pub fn navigate(_: &str) {}
}

/// Creates a guest user and its session cookie.
pub async fn guest(display_name: &str) -> Result<User, ApiError> {
    browser::guest(display_name).await
}

/// The signed-in user.
pub async fn me() -> Result<User, ApiError> {
    browser::me().await
}

/// The rooms and their languages.
pub async fn rooms() -> Result<Vec<Room>, ApiError> {
    browser::rooms().await
}

/// Joins `room` reading `language`: a token and the two topics.
pub async fn join(room: &str, language: &str) -> Result<JoinAnswer, ApiError> {
    browser::join(room, language).await
}

/// Publishes a chat message; returns its `seq` on the publish topic.
pub async fn publish(topic: &str, token: &str, text: &str, lang: &str) -> Result<i64, ApiError> {
    browser::publish(topic, token, text, lang).await
}

/// Reads a topic over a WebSocket until it closes, handing each text frame to `on_text`.
pub async fn subscribe(
    topic: &str,
    token: &str,
    resume_after: i64,
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
