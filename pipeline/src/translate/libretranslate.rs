//! LibreTranslate over HTTP (`POST {url}/translate`, the documented JSON API).

use serde::{Deserialize, Serialize};

use super::{BoxFuture, TranslateError, Translator};

/// A LibreTranslate server, e.g. `PARLEY_LIBRETRANSLATE_URL=http://127.0.0.1:5000`.
#[derive(Debug, Clone)]
pub struct LibreTranslate {
    base_url: String,
    api_key: Option<String>,
    http: reqwest::Client,
}

#[derive(Serialize)]
struct Request<'a> {
    q: &'a str,
    source: &'a str,
    target: &'a str,
    format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<&'a str>,
}

#[derive(Deserialize)]
struct Success {
    #[serde(rename = "translatedText")]
    translated_text: String,
}

#[derive(Deserialize)]
struct Failure {
    error: String,
}

impl LibreTranslate {
    pub fn new(base_url: impl Into<String>, api_key: Option<String>, http: reqwest::Client) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        Self { base_url, api_key, http }
    }

    async fn call(&self, text: &str, from: &str, to: &str) -> Result<String, TranslateError> {
        let body = Request { q: text, source: from, target: to, format: "text", api_key: self.api_key.as_deref() };
        let response = self
            .http
            .post(format!("{}/translate", self.base_url))
            .json(&body)
            .send()
            .await
            .map_err(|e| TranslateError::Transient(e.to_string()))?;
        let status = response.status();
        let retry_after = super::retry_after(response.headers());
        let bytes = response.bytes().await.map_err(|e| TranslateError::Transient(e.to_string()))?;
        if status.is_success() {
            let ok: Success = serde_json::from_slice(&bytes)
                .map_err(|e| TranslateError::Transient(format!("unexpected answer: {e}")))?;
            return Ok(ok.translated_text);
        }
        let message =
            serde_json::from_slice::<Failure>(&bytes).map(|f| f.error).unwrap_or_else(|_| format!("HTTP {status}"));
        Err(match status.as_u16() {
            400 => TranslateError::UnsupportedPair {
                note: format!("libretranslate cannot translate {from}→{to}: {message}"),
            },
            401 | 403 => TranslateError::Auth(message),
            429 => TranslateError::RateLimited { retry_after_secs: retry_after },
            _ => TranslateError::Transient(message),
        })
    }
}

impl Translator for LibreTranslate {
    fn name(&self) -> &'static str {
        "libretranslate"
    }

    fn translate<'a>(
        &'a self,
        text: &'a str,
        from: &'a str,
        to: &'a str,
    ) -> BoxFuture<'a, Result<String, TranslateError>> {
        Box::pin(self.call(text, from, to))
    }
}
