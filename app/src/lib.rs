//! # Parley's web UI
//!
//! Leptos components rendered on the server (`ssr`) and hydrated in the
//! browser (`hydrate`). The UI is an ordinary client of the public API
//! (API.md): it joins a room over HTTP, reads its language's topic over a
//! WebSocket and publishes to the room's publish topic with its join token.
//!
//! # Layout
//! - [`pages`]: the landing page and the room view.
//! - [`client`]: HTTP and WebSocket calls; real in the browser, inert on the server.
//! - [`i18n`]: the interface's words in each language.
//! - [`wire`]: the API's JSON shapes, as this client reads them.

// Leptos views are deeply nested types; the admin console's tables exceed the default.
#![recursion_limit = "256"]

pub mod client;
pub mod i18n;
pub mod pages;
pub mod wire;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the app, rendered on the server.
/// A speech bubble, inline so that no request is spent on it.
const FAVICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Cpath fill='%232f4fc9' d='M6 4h20a4 4 0 0 1 4 4v12a4 4 0 0 1-4 4H14l-7 6v-6H6a4 4 0 0 1-4-4V8a4 4 0 0 1 4-4z'/%3E%3C/svg%3E";

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let (pkg, name) = (options.site_pkg_dir.to_string(), options.output_name.to_string());
    view! {
        <!DOCTYPE html>
        <html lang=i18n::texts(&client::browser_language()).code>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href=FAVICON/>
                <link rel="modulepreload" href=format!("/{pkg}/{name}.js")/>
                <script type="module">{hydration_script(&pkg, &name)}</script>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Starts the app once the server's page has been painted. The page is
/// readable from its HTML alone; the wasm (half a megabyte), fetched at once
/// as a preload would, shares a slow link with the stylesheet that the
/// first paint waits for.
fn hydration_script(pkg: &str, name: &str) -> String {
    format!(
        "requestAnimationFrame(() => setTimeout(() => import('/{pkg}/{name}.js')\
         .then(m => m.default({{module_or_path: '/{pkg}/{name}_bg.wasm'}}).then(() => m.hydrate())), 0));"
    )
}

/// The app's routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="parley" href="/pkg/parley.css"/>
        <Title text="Parley"/>
        <Router>
            <main>
                <Routes fallback=|| view! { <p class="notice">{crate::i18n::EN.page_not_found}</p> }>
                    <Route path=path!("/") view=pages::landing::Landing/>
                    <Route path=path!("/rooms/:room/:lang") view=pages::room::RoomView/>
                    <Route path=path!("/admin") view=pages::admin::Admin/>
                </Routes>
            </main>
        </Router>
    }
}

/// The browser's entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}

/// A language's name in that language, for menus.
pub fn language_name(code: &str) -> String {
    match code {
        "en" => "English",
        "pt" => "Português",
        "es" => "Español",
        "fr" => "Français",
        "de" => "Deutsch",
        "it" => "Italiano",
        "ja" => "日本語",
        "zh" => "中文",
        "ko" => "한국어",
        "ru" => "Русский",
        other => return other.to_owned(),
    }
    .to_owned()
}
