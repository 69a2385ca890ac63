//! # Parley server
//!
//! One process that serves the chat UI, the topics API with durable history
//! and signed webhooks, rooms and guest sessions, and (in the embedded
//! default) the translation pipeline, to which it hands each signed webhook
//! delivery in process, through the same intake a separate pipeline has.
//!
//! # Layout
//! Layers, each using only those before it ([`layers`] lists them and tests it):
//! - foundations: [`error`], [`clock`], [`db`], [`limits`], [`metrics`], [`net`].
//! - [`auth`]: sessions and signed tokens, revocations.
//! - [`topics`]: publish, subscribe, history and the webhook outbox.
//! - [`cluster`]: other nodes hear of items and revocations.
//! - [`webhooks`]: delivery of the outbox and its admin API.
//! - [`rooms`]: rooms, languages and joining.
//! - [`config`] (environment → [`Config`]), [`ops`], [`web`] (the Leptos app).
//! - [`run`]: builds each layer's state and wires it all to a listener; tests
//!   call it on `127.0.0.1:0`.

pub mod auth;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod csrf;
pub mod db;
pub mod error;
pub mod layers;
pub mod limits;
pub mod metrics;
pub mod models;
pub mod net;
pub mod openapi;
pub mod ops;
pub mod rooms;
pub mod shutdown;
pub mod topics;
pub mod web;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use base64::Engine as _;
use leptos::prelude::LeptosOptions;
use parley_pipeline::signature::WebhookSecret;
use parley_pipeline::topics_client::TopicsClient;
use parley_pipeline::translate::build_service;
use parley_pipeline::{Pipeline, PipelineConfig};
use sqlx::AnyPool;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower_sessions::{Expiry, SessionManagerLayer};
use utoipa::OpenApi as _;

pub use config::{Config, PipelineMode, ProviderConfig};
pub use error::{Error, Result};

use auth::revocation::Revocations;
use auth::{AuthState, Claims, Op, Permission, Role, TokenKey};
use limits::{RateLimiter, SubscriptionCaps};
use metrics::Metrics;
use ops::OpsState;
use rooms::RoomsState;
use topics::TopicsState;
use topics::bus::Bus;
use webhooks::PipelineHook;
use webhooks::api::WebhooksState;
use webhooks::leases::{self, NodeId};
use webhooks::ssrf::OutboundPolicy;

pub use error::MAX_BODY_BYTES;

/// How long the embedded pipeline's service token lives (it never leaves the process).
const PIPELINE_TOKEN_TTL_SECS: i64 = 10 * 365 * 24 * 60 * 60;

/// Every feature's state, built once at start. Each feature's router gets
/// its own piece, so a module names only the layers below it.
#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub topics: TopicsState,
    pub rooms: RoomsState,
    pub webhooks: WebhooksState,
    pub ops: OpsState,
    pub leptos: LeptosOptions,
    /// Session cookies carry `Secure` (Parley is served over TLS).
    pub secure_cookies: bool,
}

/// The whole HTTP surface. `extra` is merged in (the embedded pipeline).
pub fn app(state: AppState, extra: Router) -> Router {
    let session_store = auth::sessions::DbSessionStore::new(state.auth.db.clone());
    let sessions = SessionManagerLayer::new(session_store)
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(state.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(30)));
    let (api, doc) = utoipa_axum::router::OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(topics::router().with_state(state.topics))
        .merge(rooms::router().with_state(state.rooms.clone()))
        .merge(auth::router().with_state(state.auth))
        .merge(webhooks::api::router().with_state(state.webhooks))
        .merge(ops::router().with_state(state.ops))
        .split_for_parts();
    let web = web::WebState { rooms: state.rooms, leptos: state.leptos };
    Router::new()
        .merge(api.merge(openapi::route(doc)).layer(sessions.clone()))
        .merge(web::router(&web, sessions).with_state(web))
        .merge(extra)
        .fallback(|| async { Error::NotFound("route".into()) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(csrf::csrf_guard))
        .layer(axum::middleware::from_fn(error::api_error_shape))
}

/// Serves Parley on `listener` until `shutdown` resolves, then closes
/// subscriptions with a close frame, drains the webhook worker and stops.
///
/// # Errors
/// Start-up failures (database, models, assets) and I/O errors.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (db, tokens) = open(&config).await?;

    let (trigger, stop) = shutdown::channel();
    let addr = listener.local_addr()?;
    let Built { state, pipeline_routes, embedded, background, metrics, outbox_wakeup, outbound, write_gate } =
        build(&config, &db, tokens, addr, &stop).await?;
    let node = NodeId::new(config.node_id.as_deref());
    let released = leases::join(&db, &write_gate, &node, config.clock.now_ms()).await?;
    if released > 0 {
        tracing::warn!(released, "released the deliveries this node held when it stopped; they go out again now");
    }
    let heartbeat = tokio::spawn(leases::run_heartbeat(
        db.clone(),
        write_gate.clone(),
        node.clone(),
        config.clock.clone(),
        outbox_wakeup.clone(),
        stop.clone(),
    ));

    let worker = tokio::spawn(webhooks::delivery::run_worker(
        webhooks::delivery::Worker {
            db: db.clone(),
            guarded: webhooks::ssrf::guarded_client(outbound.clone())?,
            internal: reqwest::Client::builder()
                .no_proxy()
                .connect_timeout(std::time::Duration::from_secs(5))
                .build()?,
            embedded,
            node: node.clone(),
            outbound,
            policy: webhooks::delivery::RetryPolicy {
                base: config.webhook_retry_base,
                max_attempts: config.webhook_max_attempts,
                timeout: config.webhook_timeout,
                disable_after: config.webhook_disable_after,
            },
            clock: config.clock.clone(),
            metrics,
            write_gate: write_gate.clone(),
        },
        outbox_wakeup.clone(),
        stop.clone(),
    ));
    let checkpoints = (db::Backend::of(&db) == db::Backend::Sqlite)
        .then(|| tokio::spawn(db::run_checkpoints(db.clone(), stop.clone())));
    let janitor = tokio::spawn(topics::retention::run_janitor(
        db.clone(),
        config.retention,
        config.clock.clone(),
        config.retention_interval,
        stop.clone(),
    ));

    tracing::info!(url = %addr, "Parley is listening");
    let router = app(state, pipeline_routes);
    let serve_stop = stop.clone();
    // No Nagle: frames are already coalesced per burst (feed, then one flush),
    // and a small frame held back for an ACK costs a chat message milliseconds.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    let serving = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { serve_stop.wait().await });
    tokio::spawn(async move {
        shutdown.await;
        trigger.fire();
    });
    serving.await?;
    let _ = worker.await;
    let _ = janitor.await;
    for task in background.into_iter().chain(checkpoints).chain([heartbeat]) {
        let _ = task.await;
    }
    if let Err(error) = leases::leave(&db, &write_gate, &node, config.clock.now_ms()).await {
        tracing::warn!(%error, "cannot leave the cluster cleanly; the others release this node's leases when its heartbeat goes stale");
    }
    db.close().await;
    Ok(())
}

/// Opens the database and readies it for a first start: the signing key,
/// the configured rooms, the admin account.
async fn open(config: &Config) -> anyhow::Result<(AnyPool, TokenKey)> {
    let db = db::connect(&config.database_url).await.with_context(|| format!("opening {}", config.database_url))?;
    let tokens = token_key(&db).await?;
    rooms::seed(&db, &config.seed_rooms, config.clock.now_ms()).await?;
    auth::accounts::ensure_admin(&db, config.admin_password.clone(), config.clock.now_ms()).await?;
    Ok((db, tokens))
}

/// Everything `run` serves, built: the router's state and what the
/// background work (webhook delivery, leases) needs.
struct Built {
    state: AppState,
    pipeline_routes: Router,
    /// The embedded pipeline's intake, for the webhook worker.
    embedded: Option<Router>,
    /// The cluster's listener and catch-up, when there are other nodes.
    background: Vec<tokio::task::JoinHandle<()>>,
    metrics: Arc<Metrics>,
    outbox_wakeup: Arc<Notify>,
    outbound: Arc<OutboundPolicy>,
    write_gate: db::WriteGate,
}

/// Builds every layer's state for a server reachable at `addr`.
async fn build(
    config: &Config,
    db: &AnyPool,
    tokens: TokenKey,
    addr: SocketAddr,
    stop: &shutdown::Shutdown,
) -> anyhow::Result<Built> {
    let metrics = Arc::new(Metrics::default());
    let cluster = Arc::new(match &config.bus_url {
        Some(url) => {
            // Nodes on one database share a cluster id, hence their NATS subjects.
            let id = db::setting_or_init(db, "cluster_id", || ulid::Ulid::new().to_string().to_lowercase()).await?;
            cluster::Cluster::connect(url, &id).await.with_context(|| format!("connecting to {url}"))?
        }
        None => cluster::Cluster::local(),
    });
    let bus = Arc::new(Bus::default());
    let write_gate = db::WriteGate::new(&config.database_url)?;
    let revocations = Arc::new(Revocations::load(db, config.clock.now_ms(), cluster.clone()).await?);
    let listener_task = cluster.listen(bus.clone(), revocations.clone(), metrics.clone(), stop.clone()).await?;
    let catch_up = (db::Backend::of(db) == db::Backend::Postgres).then(|| {
        tokio::spawn(cluster::run_catch_up(db.clone(), bus.clone(), revocations.clone(), metrics.clone(), stop.clone()))
    });
    let base_url = loopback_url(addr);
    let outbound = Arc::new(OutboundPolicy { allow: config.webhook_allow.clone() });
    let pipeline_hook = match (&config.pipeline, &config.external_pipeline) {
        (PipelineMode::Embedded, _) => Some(PipelineHook {
            url: webhooks::EMBEDDED_PIPELINE_URL.into(),
            secret: db::setting_or_init(db, "pipeline_webhook_secret", || WebhookSecret::generate().to_text()).await?,
        }),
        (PipelineMode::External, Some((url, secret))) => {
            Some(PipelineHook { url: url.clone(), secret: secret.clone() })
        }
        (PipelineMode::External, None) => None,
    };
    if let Some(hook) = &pipeline_hook {
        let now = config.clock.now_ms();
        for room in rooms::all_rooms(db, now).await? {
            hook.register(db, &room.name, now).await?;
        }
    }
    let auth = AuthState {
        db: db.clone(),
        tokens,
        clock: config.clock.clone(),
        revocations,
        door: Arc::new(auth::door::Door::new(
            auth::door::DoorLimits {
                logins_per_minute: config.login_attempts_per_minute,
                signups_per_minute: config.signups_per_minute,
                guests_per_minute: config.guests_per_minute,
            },
            config.trusted_proxies.clone(),
        )),
    };
    let outbox_wakeup = Arc::new(Notify::new());
    let publish_queue = Arc::<topics::PublishQueue>::default();
    let pipeline_hook = pipeline_hook.map(Arc::new);
    let (pipeline_routes, embedded, pipeline) = match (&config.pipeline, pipeline_hook.clone()) {
        (PipelineMode::Embedded, Some(hook)) => {
            let pipeline = embedded_pipeline(&auth, config, &base_url, &hook).await?;
            (
                parley_pipeline::router(pipeline.clone()),
                Some(parley_pipeline::router::<()>(pipeline.clone())),
                Some(pipeline),
            )
        }
        _ => (Router::new(), None, None),
    };
    let state = AppState {
        topics: TopicsState {
            auth: auth.clone(),
            db: db.clone(),
            clock: config.clock.clone(),
            bus: bus.clone(),
            publish_queue: publish_queue.clone(),
            write_gate: write_gate.clone(),
            metrics: metrics.clone(),
            publish_limits: Arc::new(RateLimiter::new(config.publish_rate, config.publish_burst)),
            chat_limit: Arc::new(RateLimiter::new(config.chat_rate, config.chat_burst)),
            subscription_caps: Arc::new(SubscriptionCaps::new(config.max_subscriptions_per_token)),
            outbox_wakeup: outbox_wakeup.clone(),
            shutdown: stop.clone(),
            relay: cluster.clone(),
        },
        rooms: RoomsState {
            auth: auth.clone(),
            db: db.clone(),
            clock: config.clock.clone(),
            write_gate: write_gate.clone(),
            sqlite_reads: db::InlineSqlite::open(&config.database_url)?.map(Arc::new),
            outbox_wakeup: outbox_wakeup.clone(),
            pipeline_hook,
            pipeline: pipeline.clone(),
        },
        webhooks: WebhooksState {
            auth: auth.clone(),
            db: db.clone(),
            clock: config.clock.clone(),
            outbox_wakeup: outbox_wakeup.clone(),
            outbound: outbound.clone(),
        },
        ops: OpsState {
            auth: auth.clone(),
            db: db.clone(),
            metrics: metrics.clone(),
            bus,
            publish_queue,
            cluster,
            pipeline,
        },
        leptos: web::leptos_options(&config.site_root, addr),
        auth,
        secure_cookies: config.secure_cookies,
    };
    let background = [listener_task, catch_up].into_iter().flatten().collect();
    Ok(Built { state, pipeline_routes, embedded, background, metrics, outbox_wakeup, outbound, write_gate })
}

/// Parley's HTTP surface on a fresh start of `config`'s database, without a
/// listener or background work (no webhook delivery, retention or embedded
/// pipeline: set `PipelineMode::External`). For tests that call handlers
/// directly with `tower::ServiceExt::oneshot`; flows that cross the
/// pipeline, a crash or the cluster are tested on a real server (`run`).
///
/// Background tasks and subscriptions end when the returned trigger fires or is dropped.
///
/// # Errors
/// Start-up failures (database), or an embedded pipeline asked for.
pub async fn service(config: &Config) -> anyhow::Result<(Router, shutdown::ShutdownTrigger)> {
    anyhow::ensure!(config.pipeline == PipelineMode::External, "a service without a listener has no embedded pipeline");
    let (db, tokens) = open(config).await?;
    let (trigger, stop) = shutdown::channel();
    let built = build(config, &db, tokens, SocketAddr::from(([127, 0, 0, 1], 0)), &stop).await?;
    Ok((app(built.state, built.pipeline_routes), trigger))
}

/// The key that signs tokens, created at first start.
///
/// # Errors
/// Database errors or a corrupt stored key.
pub async fn token_key(db: &AnyPool) -> anyhow::Result<TokenKey> {
    let key = db::setting_or_init(db, "token_key", random_key).await?;
    Ok(TokenKey::new(base64::engine::general_purpose::STANDARD.decode(key).context("corrupt token_key setting")?))
}

/// The pipeline's service token: it publishes only to subscribe topics (and
/// never reads them); it reads publish topics to check that an edit is by
/// the message's author, and reports translation usage. Revoking all of
/// subject `pipeline`'s tokens (`POST /api/users/pipeline/revoke-tokens`)
/// cuts every token minted for a separate `parley-pipeline`.
pub fn pipeline_claims(exp: i64) -> Claims {
    service_claims("pipeline", exp)
}

/// The embedded pipeline's token: a subject of its own, minted at every
/// start and never shown, so cutting off leaked `pipeline` tokens leaves it be.
fn embedded_pipeline_claims(exp: i64) -> Claims {
    service_claims("pipeline-embedded", exp)
}

fn service_claims(sub: &str, exp: i64) -> Claims {
    Claims::new(
        sub,
        "Parley pipeline",
        Role::Service,
        vec![
            Permission { topic: "*-subscribe-*".into(), ops: vec![Op::Publish] },
            Permission { topic: "*-publish".into(), ops: vec![Op::Subscribe] },
        ],
        exp,
    )
}

/// An admin token for operators and scripts (`parley admin-token`).
pub fn admin_claims(now_secs: i64, ttl_secs: i64) -> Claims {
    Claims::new(
        "admin",
        "Administrator",
        Role::Admin,
        vec![Permission { topic: "*".into(), ops: vec![Op::Publish, Op::Subscribe] }],
        now_secs + ttl_secs,
    )
}

/// Builds the embedded pipeline: the configured translators and a service
/// token; the caller mounts its routes.
async fn embedded_pipeline(
    state: &AuthState,
    config: &Config,
    base_url: &str,
    hook: &PipelineHook,
) -> anyhow::Result<Arc<Pipeline>> {
    let secret = WebhookSecret::parse(&hook.secret).context("corrupt pipeline_webhook_secret")?;
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?;
    let translator = build_service(&config.translators, http.clone()).await.map_err(anyhow::Error::msg)?;
    let token = state.tokens.sign(&embedded_pipeline_claims(state.clock.now_secs() + PIPELINE_TOKEN_TTL_SECS));
    let pipeline = Pipeline::new(PipelineConfig {
        secrets: vec![secret],
        topics: TopicsClient::new(base_url, token, http),
        translator,
        // The server's clock: one time for the signatures it makes and checks.
        clock: state.clock.clone(),
        pending_retry_after_secs: config.pending_translation_retry_secs,
    });
    Ok(Arc::new(pipeline))
}

fn random_key() -> String {
    use rand::RngCore as _;
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// `http://…` for this server as seen from this machine.
fn loopback_url(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() { std::net::IpAddr::from([127, 0, 0, 1]) } else { addr.ip() };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}
