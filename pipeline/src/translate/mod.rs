//! Translation providers behind one trait, so a deployment can swap them.
//!
//! A provider translates one text between two ISO 639-1 languages. Errors are
//! typed so the pipeline can tell "this pair will never work" (deliver the
//! original with a note) from "try again later".

use std::future::Future;
use std::pin::Pin;

pub mod config;
pub mod deepl;
pub mod download;
pub mod firefox;
pub mod libretranslate;
pub mod openai;
pub mod remote_settings;
pub mod service;
pub mod spans;

pub use config::{ProviderConfig, build_service};
pub use deepl::DeepL;
pub use firefox::FirefoxTranslator;
pub use libretranslate::LibreTranslate;
pub use openai::OpenAiCompatible;
pub use service::{ServiceOptions, Translation, TranslationService};

/// A boxed future, so that `Translator` can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a translation did not happen.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TranslateError {
    /// The provider cannot translate this pair (e.g. no model installed).
    #[error("{note}")]
    UnsupportedPair { note: String },
    /// The provider rejected our credentials.
    #[error("provider rejected the credentials: {0}")]
    Auth(String),
    /// The provider asked us to slow down.
    #[error("provider rate-limited the request")]
    RateLimited { retry_after_secs: Option<u64> },
    /// The account's quota is used up (DeepL's 456).
    #[error("provider quota exhausted")]
    QuotaExhausted,
    /// A failure that may pass: network, 5xx, timeout.
    #[error("provider unavailable: {0}")]
    Transient(String),
}

/// How a provider reaches a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// On this machine, with an installed model (directly or through English).
    Offline,
    /// Through a remote API, which may or may not know the pair.
    Remote,
    /// Not at all.
    No,
}

/// A translation provider.
pub trait Translator: Send + Sync {
    /// A short, stable name carried in the envelope's `provider`.
    fn name(&self) -> &'static str;

    /// Whether this provider can translate `from`→`to`, as far as it knows
    /// without trying. Remote APIs answer [`Reach::Remote`].
    fn reaches(&self, _from: &str, _to: &str) -> Reach {
        Reach::Remote
    }

    /// Translates `text` from `from` to `to` (ISO 639-1 codes).
    fn translate<'a>(
        &'a self,
        text: &'a str,
        from: &'a str,
        to: &'a str,
    ) -> BoxFuture<'a, Result<String, TranslateError>>;
}

/// A `Retry-After` header in seconds, if present.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}
