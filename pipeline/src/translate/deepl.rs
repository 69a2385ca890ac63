//! DeepL API v2 (`POST {url}/v2/translate`), free or pro endpoint.
//!
//! Errors per DeepL's documentation: 403 bad key, 456 quota exceeded,
//! 429 too many requests, 5xx temporary, 400 bad request (e.g. a language
//! DeepL does not offer).

use serde::{Deserialize, Serialize};

use super::{BoxFuture, TranslateError, Translator};

/// `https://api-free.deepl.com` or `https://api.deepl.com` (or a test double).
#[derive(Debug, Clone)]
pub struct DeepL {
    base_url: String,
    key: String,
    http: reqwest::Client,
}

#[derive(Serialize)]
struct Request<'a> {
    text: [&'a str; 1],
    source_lang: String,
    target_lang: String,
}

#[derive(Deserialize)]
struct Answer {
    translations: Vec<Translated>,
}

#[derive(Deserialize)]
struct Translated {
    text: String,
}

/// DeepL's target codes: English and Portuguese must name a variant.
fn target_code(lang: &str) -> String {
    match lang {
        "en" => "EN-US".into(),
        "pt" => "PT-BR".into(),
        "zh" => "ZH-HANS".into(),
        other => other.to_uppercase(),
    }
}

impl DeepL {
    pub fn new(base_url: impl Into<String>, key: impl Into<String>, http: reqwest::Client) -> Self {
        Self { base_url: base_url.into().trim_end_matches('/').to_owned(), key: key.into(), http }
    }

    async fn call(&self, text: &str, from: &str, to: &str) -> Result<String, TranslateError> {
        let body = Request { text: [text], source_lang: from.to_uppercase(), target_lang: target_code(to) };
        let response = self
            .http
            .post(format!("{}/v2/translate", self.base_url))
            .header("authorization", format!("DeepL-Auth-Key {}", self.key))
            .json(&body)
            .send()
            .await
            .map_err(|e| TranslateError::Transient(e.to_string()))?;
        let status = response.status().as_u16();
        let retry_after = super::retry_after(response.headers());
        let bytes = response.bytes().await.map_err(|e| TranslateError::Transient(e.to_string()))?;
        match status {
            200..=299 => {
                let answer: Answer = serde_json::from_slice(&bytes)
                    .map_err(|e| TranslateError::Transient(format!("unexpected DeepL answer: {e}")))?;
                answer
                    .translations
                    .into_iter()
                    .next()
                    .map(|t| t.text)
                    .ok_or_else(|| TranslateError::Transient("DeepL answered no translation".into()))
            }
            400 => Err(TranslateError::UnsupportedPair { note: format!("DeepL cannot translate {from}→{to}") }),
            401 | 403 => Err(TranslateError::Auth("DeepL rejected the key".into())),
            456 => Err(TranslateError::QuotaExhausted),
            429 => Err(TranslateError::RateLimited { retry_after_secs: retry_after }),
            other => Err(TranslateError::Transient(format!("DeepL answered HTTP {other}"))),
        }
    }
}

impl Translator for DeepL {
    fn name(&self) -> &'static str {
        "deepl"
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
