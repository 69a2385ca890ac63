//! The web UI: Leptos pages rendered on the server, and the built assets under `/pkg`.

use std::net::SocketAddr;

use axum::Router;
use leptos::prelude::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::services::ServeDir;

use crate::{AppState, Config};

/// The name of the built wasm/js/css bundle under `/pkg`.
pub const OUTPUT_NAME: &str = "parley";

/// Leptos options for this server, pointing at the built site.
pub fn leptos_options(config: &Config, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

/// The pages and their assets.
pub fn router(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(app::App);
    let options = state.leptos.clone();
    let pkg = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    Router::new()
        .leptos_routes(state, routes, move || app::shell(options.clone()))
        // build_site writes `.gz` beside each file: the wasm travels at a third of its size.
        .nest_service("/pkg", ServeDir::new(pkg).precompressed_gzip())
}
