//! The web UI: Leptos pages rendered on the server, and the built assets under `/pkg`.

use std::net::SocketAddr;

use app::pages::room::RoomPreview;
use axum::Router;
use axum::extract::{FromRef, FromRequestParts as _, Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::prelude::{LeptosOptions, provide_context};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::services::ServeDir;
use tower_sessions::SessionManagerLayer;

use crate::auth::AuthState;
use crate::auth::SessionUser;
use crate::auth::sessions::DbSessionStore;
use crate::rooms::{self, RoomsState};

/// What the pages need: the built site, and the rooms for the room page's preview.
#[derive(Clone, FromRef)]
pub struct WebState {
    pub rooms: RoomsState,
    pub leptos: LeptosOptions,
}

impl FromRef<WebState> for AuthState {
    fn from_ref(state: &WebState) -> Self {
        state.rooms.auth.clone()
    }
}

/// The name of the built wasm/js/css bundle under `/pkg`.
pub const OUTPUT_NAME: &str = "parley";

/// Leptos options for this server, pointing at the built site.
pub fn leptos_options(site_root: &std::path::Path, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

/// The pages and their assets. `sessions` lets the room page know who is
/// reading.
pub fn router(state: &WebState, sessions: SessionManagerLayer<DbSessionStore>) -> Router<WebState> {
    // The room page has its own handler (below); Leptos renders the rest.
    let all = generate_route_list(app::App);
    let count = all.len();
    let routes: Vec<_> = all.into_iter().filter(|r| r.path() != ROOM_PAGE).collect();
    assert_eq!(routes.len() + 1, count, "the app has the room route {ROOM_PAGE}");
    let options = state.leptos.clone();
    let pkg = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    Router::new()
        .leptos_routes(state, routes, move || app::shell(options.clone()))
        .route(ROOM_PAGE, get(room_page).layer(sessions))
        // build_site writes `.gz` beside each file: the wasm travels at a third of its size.
        .nest_service("/pkg", ServeDir::new(pkg).precompressed_gzip())
}

/// The room view's path, as Leptos lists it and axum routes it.
const ROOM_PAGE: &str = "/rooms/{room}/{lang}";

/// How many of the newest messages the room page's first HTML holds.
const PREVIEW_MESSAGES: i64 = 30;

/// The room view, rendered with the newest messages the signed-in reader
/// may read in that language (`app::pages::room::RoomPreview`); without a
/// session, or in a language they may not read, with none.
async fn room_page(State(state): State<WebState>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let preview = match (
        SessionUser::from_request_parts(&mut parts, &state).await,
        Path::<(String, String)>::from_request_parts(&mut parts, &state).await,
    ) {
        (Ok(SessionUser(user)), Ok(Path((room, lang)))) => {
            match rooms::readable_messages(&state.rooms, &room, &user, &lang, None, Some(PREVIEW_MESSAGES)).await {
                Ok(messages) => RoomPreview {
                    messages: messages.into_iter().filter_map(|m| serde_json::from_value(m).ok()).collect(),
                    reader_id: Some(user.id),
                },
                Err(_) => RoomPreview::default(),
            }
        }
        _ => RoomPreview::default(),
    };
    let options = state.leptos.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || {
            provide_context(preview.clone());
        },
        move || app::shell(options.clone()),
    );
    render(Request::from_parts(parts, body)).await.into_response()
}
