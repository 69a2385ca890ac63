//! Choosing providers: `PARLEY_TRANSLATOR` names one or a failover list
//! (`deepl,firefox`), each configured by its own variables.

use std::path::PathBuf;
use std::sync::Arc;

use super::{
    DeepL, FirefoxTranslator, LibreTranslate, OpenAiCompatible, ServiceOptions, TranslationService, Translator,
};

/// One provider's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderConfig {
    /// Firefox Translations models in a directory (`PARLEY_MODELS_DIR`).
    Firefox { models_dir: PathBuf },
    /// `PARLEY_LIBRETRANSLATE_URL`, `PARLEY_LIBRETRANSLATE_KEY`.
    LibreTranslate { url: String, api_key: Option<String> },
    /// `PARLEY_DEEPL_KEY`, `PARLEY_DEEPL_URL` (default: the free or pro endpoint by key).
    DeepL { url: String, key: String },
    /// `PARLEY_OPENAI_URL`, `PARLEY_OPENAI_KEY`, `PARLEY_OPENAI_MODEL`.
    OpenAi { url: String, key: Option<String>, model: String },
}

impl ProviderConfig {
    /// Reads `PARLEY_TRANSLATOR` (default `firefox`) and each named provider's variables.
    ///
    /// # Errors
    /// An unknown provider, or one without its required settings.
    pub fn list_from_env() -> Result<Vec<Self>, String> {
        Self::list_from(|name| std::env::var(name).ok())
    }

    /// [`Self::list_from_env`] with the settings from `setting`, which is
    /// asked by variable name (the server also reads a configuration file).
    ///
    /// # Errors
    /// An unknown provider, or one without its required settings.
    pub fn list_from(setting: impl Fn(&str) -> Option<String>) -> Result<Vec<Self>, String> {
        let var = |name: &str| setting(name).filter(|v| !v.is_empty());
        let names = var("PARLEY_TRANSLATOR").unwrap_or_else(|| "firefox".into());
        names
            .split(',')
            .map(str::trim)
            .map(|name| match name {
                "firefox" => Ok(Self::Firefox {
                    models_dir: var("PARLEY_MODELS_DIR").unwrap_or_else(|| "data/models".into()).into(),
                }),
                "libretranslate" => Ok(Self::LibreTranslate {
                    url: var("PARLEY_LIBRETRANSLATE_URL").ok_or("libretranslate needs PARLEY_LIBRETRANSLATE_URL")?,
                    api_key: var("PARLEY_LIBRETRANSLATE_KEY"),
                }),
                "deepl" => {
                    let key = var("PARLEY_DEEPL_KEY").ok_or("deepl needs PARLEY_DEEPL_KEY")?;
                    let default =
                        if key.ends_with(":fx") { "https://api-free.deepl.com" } else { "https://api.deepl.com" };
                    Ok(Self::DeepL { url: var("PARLEY_DEEPL_URL").unwrap_or_else(|| default.into()), key })
                }
                "openai" => Ok(Self::OpenAi {
                    url: var("PARLEY_OPENAI_URL").unwrap_or_else(|| "https://api.openai.com".into()),
                    key: var("PARLEY_OPENAI_KEY"),
                    model: var("PARLEY_OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
                }),
                other => Err(format!("unknown translator {other:?} (firefox, libretranslate, deepl, openai)")),
            })
            .collect()
    }

    /// Builds the provider. Loading models blocks: call it off the async workers.
    ///
    /// # Errors
    /// Models present but unloadable.
    pub fn build(&self, http: &reqwest::Client) -> Result<Arc<dyn Translator>, String> {
        Ok(match self {
            Self::Firefox { models_dir } => {
                let translator = FirefoxTranslator::load(models_dir)?;
                if translator.pairs().is_empty() {
                    tracing::warn!(dir = %models_dir.display(), "no translation models installed: messages will be delivered untranslated");
                } else {
                    tracing::info!(pairs = ?translator.pairs(), "translation models loaded");
                }
                Arc::new(translator)
            }
            Self::LibreTranslate { url, api_key } => Arc::new(LibreTranslate::new(url, api_key.clone(), http.clone())),
            Self::DeepL { url, key } => Arc::new(DeepL::new(url, key, http.clone())),
            Self::OpenAi { url, key, model } => Arc::new(OpenAiCompatible::new(url, key.clone(), model, http.clone())),
        })
    }
}

/// Builds the providers, in failover order, behind one [`TranslationService`]
/// (models load on a blocking thread).
///
/// # Errors
/// Models present but unloadable.
pub async fn build_service(
    providers: &[ProviderConfig],
    http: reqwest::Client,
) -> Result<Arc<TranslationService>, String> {
    let providers = providers.to_vec();
    let built =
        tokio::task::spawn_blocking(move || providers.iter().map(|p| p.build(&http)).collect::<Result<Vec<_>, _>>())
            .await
            .map_err(|e| format!("loading the translation providers: {e}"))??;
    Ok(Arc::new(TranslationService::new(built, ServiceOptions::default())))
}
