//! Configuration (DESIGN.md, "Configuration"), validated at start: the
//! environment, over an optional TOML file that mirrors it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::clock::Clock;
use crate::net::Cidr;
use crate::topics::retention::RetentionDefaults;

/// Where webhooks to the pipeline go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineMode {
    /// In this process: deliveries are handed to its intake directly (it is
    /// also mounted at `/pipeline/webhook`).
    Embedded,
    /// A separate `parley-pipeline`; webhooks are registered by an admin.
    External,
}

pub use parley_pipeline::translate::ProviderConfig;

/// Where settings come from: the environment, over an optional TOML file
/// (`PARLEY_CONFIG=parley.toml`) whose keys are the variables' names without
/// `PARLEY_`, in lower case (`publish_rate = 40`, `database_url = "…"`,
/// `translator = "deepl,firefox"`). A variable that is set wins over the file.
pub struct Sources(config::Config);

impl Sources {
    /// The environment, and the file `PARLEY_CONFIG` names (which must then exist).
    ///
    /// # Errors
    /// A missing or malformed file.
    pub fn load() -> anyhow::Result<Self> {
        let file = std::env::var_os("PARLEY_CONFIG").filter(|p| !p.is_empty()).map(PathBuf::from);
        Self::read(file.as_deref(), std::env::vars())
    }

    /// The given file (if any) under the given variables.
    ///
    /// # Errors
    /// A missing or malformed file.
    pub fn read(
        file: Option<&std::path::Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml).required(true));
        }
        let vars: config::Map<String, String> = vars.into_iter().collect();
        // `DATABASE_URL` is the one variable without the prefix (sqlx's name for it).
        let database_url = vars.get("DATABASE_URL").filter(|v| !v.is_empty()).cloned();
        let environment = config::Environment::with_prefix("PARLEY").ignore_empty(true).source(Some(vars));
        let built =
            builder.add_source(environment).set_override_option("database_url", database_url)?.build().with_context(
                || match file {
                    Some(path) => format!("reading the configuration file {}", path.display()),
                    None => "reading the configuration".to_owned(),
                },
            )?;
        Ok(Self(built))
    }

    /// The setting a variable names (`PARLEY_PUBLISH_RATE` is `publish_rate`
    /// in the file), if set and not empty.
    pub fn var(&self, name: &str) -> Option<String> {
        let key = name.strip_prefix("PARLEY_").unwrap_or(name).to_ascii_lowercase();
        self.0.get_string(&key).ok().filter(|v| !v.is_empty())
    }
}

/// The admin password of [`Config::for_tests`].
pub const TEST_ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// Everything `run` needs. Tests build one with [`Config::for_tests`].
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://…` (created if missing) or `postgres://…` (scale-out).
    pub database_url: String,
    /// `nats://…` (`PARLEY_BUS`): carries live items and revocations between
    /// nodes sharing a PostgreSQL database. None: a single node.
    pub bus_url: Option<String>,
    pub pipeline: PipelineMode,
    /// With `PipelineMode::External`: the pipeline's intake URL and its
    /// webhook secret (`PARLEY_PIPELINE_URL`, `PARLEY_PIPELINE_SECRET`), so
    /// every room, new ones included, is wired to it.
    pub external_pipeline: Option<(String, String)>,
    /// Translation providers for the embedded pipeline, in failover order.
    pub translators: Vec<ProviderConfig>,
    /// Where the built web assets are (`pkg/parley.js`, `pkg/parley_bg.wasm`, `pkg/parley.css`).
    pub site_root: PathBuf,
    /// The first delay between webhook attempts; it doubles per attempt.
    pub webhook_retry_base: Duration,
    /// Attempts before a delivery is marked failed.
    pub webhook_max_attempts: u32,
    /// How long a webhook receiver may take to answer.
    pub webhook_timeout: Duration,
    /// Consecutive dead letters after which a webhook is disabled.
    pub webhook_disable_after: u32,
    /// When a message delivered untranslated (provider down) is retried.
    pub pending_translation_retry_secs: u64,
    /// Rooms created at first start: (name, languages).
    pub seed_rooms: Vec<(String, Vec<String>)>,
    /// Networks external webhooks may reach although private (`PARLEY_WEBHOOK_ALLOW`).
    pub webhook_allow: Vec<Cidr>,
    /// Retention for topics without their own.
    pub retention: RetentionDefaults,
    /// How often the retention janitor runs.
    pub retention_interval: Duration,
    /// Publishes per second per token, and the burst allowed.
    pub publish_rate: f64,
    pub publish_burst: u32,
    /// Chat messages per second the whole node accepts, and the burst
    /// (`PARLEY_CHAT_RATE`, `PARLEY_CHAT_BURST`): every one costs a
    /// translation into each room language.
    pub chat_rate: f64,
    pub chat_burst: u32,
    /// Open subscriptions per token.
    pub max_subscriptions_per_token: usize,
    /// Login attempts per minute per client address, and per account.
    pub login_attempts_per_minute: u32,
    /// Sign-ups per minute per client address (`PARLEY_SIGNUPS_PER_MINUTE`).
    pub signups_per_minute: u32,
    /// Guests created per minute per client address (`PARLEY_GUESTS_PER_MINUTE`).
    pub guests_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`PARLEY_TRUSTED_PROXIES`, CIDRs).
    pub trusted_proxies: Vec<Cidr>,
    /// The first start's admin password (`PARLEY_ADMIN_PASSWORD`); generated and printed when absent.
    pub admin_password: Option<String>,
    /// Mark the session cookie `Secure` (`PARLEY_SECURE_COOKIES=1`, when served over TLS).
    pub secure_cookies: bool,
    /// This node's name in webhook leases (`PARLEY_NODE_ID`): when it is
    /// stable, a restarted node releases its old leases at once. Unset: a
    /// fresh id per start (its old leases go when its heartbeat is stale).
    pub node_id: Option<String>,
    /// The source of time (tests inject a manual one).
    pub clock: Clock,
}

impl Config {
    /// Reads `DATABASE_URL`, `PARLEY_PIPELINE`, `PARLEY_TRANSLATOR`, … with
    /// the documented defaults, from `sources` (see [`Sources::load`]).
    ///
    /// # Errors
    /// An unknown value, or a provider without its settings.
    pub fn from_sources(sources: &Sources) -> anyhow::Result<Self> {
        let var = |name: &str| sources.var(name);
        let pipeline = match var("PARLEY_PIPELINE").as_deref() {
            None | Some("embedded") => PipelineMode::Embedded,
            Some("external") => PipelineMode::External,
            Some(other) => bail!("PARLEY_PIPELINE must be embedded or external, not {other:?}"),
        };
        let translators = ProviderConfig::list_from(var).map_err(anyhow::Error::msg)?;
        let database_url = var("DATABASE_URL").unwrap_or_else(|| "sqlite://data/parley.db".into());
        crate::db::Backend::of_url(&database_url)?;
        let bus_url = var("PARLEY_BUS");
        if let Some(url) = &bus_url
            && !url.starts_with("nats://")
        {
            bail!("PARLEY_BUS must be a nats:// URL (or unset for one node)");
        }
        let cidrs = |name: &str| {
            var(name)
                .map(|v| {
                    v.split(',')
                        .map(|c| c.trim().parse::<Cidr>().map_err(anyhow::Error::msg))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
                .transpose()
                .with_context(|| format!("{name} must be a comma-separated list of CIDRs"))
                .map(Option::unwrap_or_default)
        };
        let webhook_allow = cidrs("PARLEY_WEBHOOK_ALLOW")?;
        let trusted_proxies = cidrs("PARLEY_TRUSTED_PROXIES")?;
        let number = |name: &str| -> anyhow::Result<Option<u64>> {
            var(name).map(|v| v.parse::<u64>().with_context(|| format!("{name} must be a number"))).transpose()
        };
        let external_pipeline = match (var("PARLEY_PIPELINE_URL"), var("PARLEY_PIPELINE_SECRET")) {
            (Some(url), Some(secret)) => {
                parley_pipeline::signature::WebhookSecret::parse(&secret)
                    .map_err(|_| anyhow::anyhow!("PARLEY_PIPELINE_SECRET must be a whsec_ secret"))?;
                Some((url, secret))
            }
            (None, None) => None,
            _ => bail!("set both PARLEY_PIPELINE_URL and PARLEY_PIPELINE_SECRET, or neither"),
        };
        let node_id = var("PARLEY_NODE_ID");
        if let Some(id) = &node_id {
            crate::webhooks::leases::validate_node_id(id).map_err(anyhow::Error::msg)?;
        }
        let defaults = Self::defaults();
        Ok(Self {
            node_id,
            database_url,
            bus_url,
            pipeline,
            translators,
            site_root: var("PARLEY_SITE_ROOT").unwrap_or_else(|| "target/site".into()).into(),
            webhook_allow,
            external_pipeline,
            admin_password: var("PARLEY_ADMIN_PASSWORD"),
            secure_cookies: var("PARLEY_SECURE_COOKIES").is_some_and(|v| v == "1"),
            retention: RetentionDefaults {
                max_items: number("PARLEY_RETAIN_ITEMS")?.map_or(defaults.retention.max_items, |n| n as i64),
                max_age: number("PARLEY_RETAIN_SECONDS")?.map_or(defaults.retention.max_age, Duration::from_secs),
            },
            publish_rate: number("PARLEY_PUBLISH_RATE")?.map_or(defaults.publish_rate, |n| n as f64),
            publish_burst: number("PARLEY_PUBLISH_BURST")?.map_or(defaults.publish_burst, |n| n as u32),
            chat_rate: number("PARLEY_CHAT_RATE")?.map_or(defaults.chat_rate, |n| n as f64),
            chat_burst: number("PARLEY_CHAT_BURST")?.map_or(defaults.chat_burst, |n| n as u32),
            webhook_timeout: number("PARLEY_WEBHOOK_TIMEOUT_SECONDS")?
                .map_or(defaults.webhook_timeout, Duration::from_secs),
            trusted_proxies,
            signups_per_minute: number("PARLEY_SIGNUPS_PER_MINUTE")?.map_or(defaults.signups_per_minute, |n| n as u32),
            guests_per_minute: number("PARLEY_GUESTS_PER_MINUTE")?.map_or(defaults.guests_per_minute, |n| n as u32),
            max_subscriptions_per_token: number("PARLEY_MAX_SUBSCRIPTIONS")?
                .map_or(defaults.max_subscriptions_per_token, |n| n as usize),
            ..defaults
        })
    }

    fn defaults() -> Self {
        Self {
            database_url: "sqlite://data/parley.db".into(),
            bus_url: None,
            pipeline: PipelineMode::Embedded,
            external_pipeline: None,
            translators: vec![ProviderConfig::Firefox { models_dir: "data/models".into() }],
            site_root: "target/site".into(),
            webhook_retry_base: Duration::from_secs(1),
            webhook_max_attempts: 8,
            webhook_timeout: Duration::from_secs(30),
            webhook_disable_after: 10,
            pending_translation_retry_secs: parley_pipeline::intake::PENDING_RETRY_AFTER_SECS,
            seed_rooms: vec![("lobby".into(), vec!["en".into(), "pt".into()])],
            webhook_allow: Vec::new(),
            retention: RetentionDefaults::default(),
            retention_interval: Duration::from_secs(30),
            publish_rate: 20.0,
            publish_burst: 40,
            chat_rate: 200.0,
            chat_burst: 400,
            max_subscriptions_per_token: 16,
            login_attempts_per_minute: 10,
            signups_per_minute: 5,
            guests_per_minute: 20,
            trusted_proxies: Vec::new(),
            admin_password: None,
            secure_cookies: false,
            node_id: None,
            clock: Clock::system(),
        }
    }

    /// A configuration for tests: a fresh SQLite file, fast retries.
    pub fn for_tests(database_path: &std::path::Path) -> Self {
        Self {
            database_url: format!("sqlite://{}", database_path.display()),
            webhook_retry_base: Duration::from_millis(20),
            retention_interval: Duration::from_millis(50),
            pending_translation_retry_secs: 1,
            admin_password: Some(TEST_ADMIN_PASSWORD.into()),
            // Tests publish in bursts; limits have tests of their own.
            publish_rate: 10_000.0,
            publish_burst: 10_000,
            chat_rate: 10_000.0,
            chat_burst: 10_000,
            ..Self::defaults()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_toml_file_mirrors_the_variables_and_a_set_variable_wins() {
        let path = std::env::temp_dir().join(format!("parley-config-{}.toml", ulid::Ulid::new()));
        std::fs::write(
            &path,
            "database_url = \"sqlite://from-file.db\"\npublish_rate = 7\ntranslator = \"libretranslate\"\n\
             libretranslate_url = \"http://127.0.0.1:5000\"\nchat_rate = 9\n",
        )
        .unwrap();
        let environment = vars(&[("PARLEY_CHAT_RATE", "11"), ("PARLEY_PUBLISH_BURST", ""), ("HOME", "/root")]);
        let config = Config::from_sources(&Sources::read(Some(&path), environment).unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(config.database_url, "sqlite://from-file.db");
        assert_eq!((config.publish_rate, config.chat_rate), (7.0, 11.0), "the variable wins over the file");
        assert_eq!(config.publish_burst, Config::defaults().publish_burst, "an empty variable is unset");
        assert_eq!(
            config.translators,
            [ProviderConfig::LibreTranslate { url: "http://127.0.0.1:5000".into(), api_key: None }]
        );
    }

    #[test]
    fn database_url_keeps_its_unprefixed_name_and_bad_values_are_named() {
        let sources = Sources::read(None, vars(&[("DATABASE_URL", "postgres://db/parley")])).unwrap();
        assert_eq!(Config::from_sources(&sources).unwrap().database_url, "postgres://db/parley");
        let sources = Sources::read(None, vars(&[("PARLEY_PUBLISH_RATE", "fast")])).unwrap();
        let error = Config::from_sources(&sources).unwrap_err().to_string();
        assert!(error.contains("PARLEY_PUBLISH_RATE"), "{error}");
        let missing = std::env::temp_dir().join("parley-no-such-config.toml");
        assert!(Sources::read(Some(&missing), Vec::new()).is_err(), "a named file must exist");
    }
}
