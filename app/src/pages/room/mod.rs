//! The room view: live messages in the reader's language, and a send box.
//!
//! - [`connection`]: joining, history, the live subscription, presence and reactions.
//! - [`list`]: the messages, kept scrolled to the newest unless the reader scrolled up.
//! - [`composer`]: writing, editing (keyboard too) and typing notices.
//! - [`model`]: what to show, as plain functions.
//! - [`preview`]: the newest messages in the server's HTML, until the list has loaded.

mod composer;
mod connection;
mod list;
pub mod model;
mod preview;

pub use preview::RoomPreview;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::i18n::{Texts, fill, language_in, texts};
use crate::language_name;
use crate::wire::{Envelope, JoinAnswer, Me, Room, User};
use model::{Pending, Reactions, Seen};

/// Presence: how long someone is shown online or typing after last heard.
pub(crate) const ONLINE_SHOWN_SECS: u64 = 45;
pub(crate) const TYPING_SHOWN_SECS: u64 = 4;

/// Where the subscription stands, shown to the reader.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Connection {
    Connecting,
    Live,
    Reconnecting,
    Failed,
}

impl Connection {
    /// Stable, for tests and styles.
    fn key(self) -> &'static str {
        match self {
            Connection::Connecting => "connecting",
            Connection::Live => "live",
            Connection::Reconnecting => "reconnecting",
            Connection::Failed => "failed",
        }
    }

    fn label(self, t: &'static Texts) -> &'static str {
        match self {
            Connection::Connecting => t.connecting,
            Connection::Live => t.live,
            Connection::Reconnecting => t.reconnecting,
            Connection::Failed => t.failed,
        }
    }
}

/// Everything the room's parts share: cheap copies of signals.
#[derive(Clone, Copy)]
pub(crate) struct RoomState {
    pub room: Memo<String>,
    pub lang: Memo<String>,
    pub messages: RwSignal<Vec<Envelope>>,
    pub pending: RwSignal<Vec<Pending>>,
    pub connection: RwSignal<Connection>,
    pub problem: RwSignal<Option<String>>,
    pub me: RwSignal<Option<User>>,
    pub viewer: RwSignal<Option<Me>>,
    pub info: RwSignal<Option<Room>>,
    /// Every room, for the drawer.
    pub rooms: RwSignal<Vec<Room>>,
    pub joined: RwSignal<Option<JoinAnswer>>,
    pub editing: RwSignal<Option<i64>>,
    pub draft: RwSignal<String>,
    /// Seconds since the page opened.
    pub tick: RwSignal<u64>,
    /// Changes every 20 s: what relative times ("2 minutes ago") redraw on.
    pub clock: Memo<u64>,
    pub presence: RwSignal<Vec<Seen>>,
    pub reactions: RwSignal<Reactions>,
    /// History paging: the oldest seq loaded, whether there is more, and a load under way.
    pub oldest: RwSignal<Option<i64>>,
    pub has_more: RwSignal<bool>,
    pub loading_older: RwSignal<bool>,
    /// The first page of history is in.
    pub loaded: RwSignal<bool>,
    /// Messages that arrived while the page was hidden (for the title).
    pub unseen_hidden: RwSignal<usize>,
}

impl RoomState {
    pub fn my_id(&self) -> String {
        self.me.get().map(|u| u.id).unwrap_or_default()
    }
}

#[component]
pub fn RoomView() -> impl IntoView {
    let params = use_params_map();
    let room = Memo::new(move |_| params.read().get("room").unwrap_or_default());
    let lang = Memo::new(move |_| params.read().get("lang").unwrap_or_default());
    let tick = RwSignal::new(0);
    let state = RoomState {
        room,
        lang,
        messages: RwSignal::new(Vec::new()),
        pending: RwSignal::new(Vec::new()),
        connection: RwSignal::new(Connection::Connecting),
        problem: RwSignal::new(None),
        me: RwSignal::new(None),
        viewer: RwSignal::new(None),
        info: RwSignal::new(None),
        rooms: RwSignal::new(Vec::new()),
        joined: RwSignal::new(None),
        editing: RwSignal::new(None),
        draft: RwSignal::new(String::new()),
        tick,
        clock: Memo::new(move |_| tick.get() / 20),
        presence: RwSignal::new(Vec::new()),
        reactions: RwSignal::new(Reactions::new()),
        oldest: RwSignal::new(None),
        has_more: RwSignal::new(false),
        loading_older: RwSignal::new(false),
        loaded: RwSignal::new(false),
        unseen_hidden: RwSignal::new(0),
    };
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        hydrated.set(true);
        let lang = state.lang.get();
        crate::client::set_document_language(&lang, crate::i18n::right_to_left(&lang));
    });
    // The tab's title counts what arrived while it was hidden.
    Effect::new(move |_| {
        let (unseen, room) = (state.unseen_hidden.get(), state.room.get());
        let title = if unseen > 0 { format!("({unseen}) #{room} · Parley") } else { format!("#{room} · Parley") };
        crate::client::set_title(&title);
    });
    connection::start(state);

    view! {
        <section
            class="room"
            data-hydrated=move || hydrated.get().to_string()
            data-status=move || state.connection.get().key()
            lang=move || state.lang.get()
        >
            <Header state/>
            <Show when=move || state.problem.get().is_some()>
                <p class="error" role="alert">{move || state.problem.get().unwrap_or_default()}</p>
            </Show>
            <list::MessageList state/>
            <Presence state/>
            <composer::Composer state/>
        </section>
    }
}

/// The room's name, the reading language (switchable), notifications and the connection.
#[component]
fn Header(state: RoomState) -> impl IntoView {
    let t = move || texts(&state.lang.get());
    let switch_language = move |ev: leptos::ev::Event| {
        let to = event_target_value(&ev);
        if to != state.lang.get_untracked() {
            crate::client::navigate(&format!("/rooms/{}/{to}", state.room.get_untracked()));
        }
    };
    let notifications = RwSignal::new(false);
    Effect::new(move |_| notifications.set(crate::client::notifications_allowed()));
    let drawer = RwSignal::new(false);
    view! {
        <header class="room-header">
            <button
                type="button"
                class="icon drawer-toggle"
                aria-label=move || t().all_rooms
                title=move || t().all_rooms
                aria-expanded=move || drawer.get().to_string()
                aria-controls="rooms-drawer"
                on:click=move |_| drawer.update(|open| *open = !*open)
            >
                "☰"
            </button>
            <nav id="rooms-drawer" class="drawer" class:open=move || drawer.get() aria-label=move || t().all_rooms>
                <a href="/" class="drawer-home">{move || t().all_rooms}</a>
                <ul>
                    {move || {
                        let (current, lang) = (state.room.get(), state.lang.get());
                        state
                            .rooms
                            .get()
                            .into_iter()
                            .map(|r| {
                                // The same reading language where the room has it.
                                let read = if r.languages.contains(&lang) { lang.clone() } else { r.languages.first().cloned().unwrap_or_default() };
                                let here = r.name == current;
                                view! {
                                    <li>
                                        <a href=format!("/rooms/{}/{read}", r.name) aria-current=here.then_some("page")>
                                            {format!("#{}", r.name)}
                                        </a>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </nav>
            <h1>{move || format!("#{}", state.room.get())}</h1>
            <label for="reading-language" class="visually-hidden">{move || t().reading_language}</label>
            <select id="reading-language" class="reading" on:change=switch_language prop:value=move || state.lang.get()>
                {move || {
                    let current = state.lang.get();
                    let info = state.info.get();
                    let who = state.viewer.get();
                    let langs = info.as_ref().map(|r| r.languages.clone()).unwrap_or_else(|| vec![current.clone()]);
                    langs
                        .into_iter()
                        .map(|l| {
                            let open = match (&info, &who) {
                                (Some(r), Some(m)) => m.may_read(r, &l),
                                _ => true,
                            };
                            // Each language in its own name: the one a reader looks for.
                            let label = if open { language_name(&l) } else { format!("🔒 {}", language_name(&l)) };
                            let selected = l == current;
                            view! { <option value=l.clone() lang=l disabled=!open selected=selected>{label}</option> }
                        })
                        .collect_view()
                }}
            </select>
            <Show when=move || !notifications.get()>
                <button
                    type="button"
                    class="icon notify"
                    aria-label=move || t().notify_me
                    title=move || t().notify_me
                    on:click=move |_| {
                        crate::client::ask_for_notifications();
                        notifications.set(true);
                    }
                >
                    "🔔"
                </button>
            </Show>
            <span class=move || format!("connection {}", state.connection.get().key()) role="status">
                {move || state.connection.get().label(t())}
            </span>
        </header>
    }
}

/// Who is typing and who is online, from the presence topic.
#[component]
fn Presence(state: RoomState) -> impl IntoView {
    let t = move || texts(&state.lang.get());
    let others = move |within: u64, typing: bool| {
        let (now, me) = (state.tick.get(), state.my_id());
        state.presence.with(|all| {
            all.iter()
                .filter(|p| p.id != me)
                .filter(|p| (if typing { p.typing } else { p.online }).is_some_and(|at| now <= at + within))
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        })
    };
    view! {
        <p class="presence" aria-live="polite">
            <span class="typing">
                {move || {
                    let typing = others(TYPING_SHOWN_SECS, true);
                    match typing.len() {
                        0 => String::new(),
                        1 => fill(t().is_typing, &[("name", &typing[0])]),
                        _ => fill(t().are_typing, &[("names", &typing.join(", "))]),
                    }
                }}
            </span>
            <span class="online">
                {move || {
                    let online = others(ONLINE_SHOWN_SECS, false);
                    if online.is_empty() { String::new() } else { fill(t().online, &[("names", &online.join(", "))]) }
                }}
            </span>
        </p>
    }
}

/// A language as the reader of `lang` calls it.
pub(crate) fn language_for_reader(code: &str, lang: &str) -> String {
    language_in(code, lang)
}
