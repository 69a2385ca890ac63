//! The landing page: sign in (as a guest, or with an account), then pick a
//! room and the language to read it in. It speaks the browser's language,
//! and shows how many messages each room has that you have not read.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::client;
use crate::i18n::{Texts, fill, texts};
use crate::language_name;
use crate::wire::{Me, Room, UserRole};

/// Where the newest message a reader has seen in a room is remembered (per browser).
pub fn read_key(room: &str) -> String {
    format!("parley.read.{room}")
}

/// Signs people in and lists the rooms.
#[component]
pub fn Landing() -> impl IntoView {
    let me = RwSignal::new(None::<Me>);
    let rooms = RwSignal::new(Vec::<Room>::new());
    let error = RwSignal::new(None::<String>);
    let hydrated = RwSignal::new(false);
    let loading = RwSignal::new(true);
    // The interface follows the browser's language (on the server, the
    // request's Accept-Language: the same choice, so nothing flips).
    let ui = RwSignal::new(texts(&client::browser_language()).code.to_owned());
    let t = move || texts(&ui.get());

    Effect::new(move |_| {
        hydrated.set(true);
        client::set_document_language(&ui.get_untracked(), false);
        spawn_local(async move {
            if let Ok(found) = client::me().await {
                me.set(Some(found));
            }
        });
    });
    // Signed-in visitors see more of each room (which languages are locked):
    // the list is read again whenever who is signed in changes.
    Effect::new(move |_| {
        let _signed_in = me.with(Option::is_some);
        spawn_local(async move {
            match client::rooms().await {
                Ok(list) => rooms.set(list),
                Err(e) => {
                    let t = texts(&ui.get_untracked());
                    error.set(Some(fill(t.cannot_load_rooms, &[("error", &e.text(t))])));
                }
            }
            loading.set(false);
        });
    });

    let sign_out = move |_| {
        spawn_local(async move {
            let _ = client::logout().await;
            me.set(None);
        });
    };

    view! {
        <section class="landing" data-hydrated=move || hydrated.get().to_string() lang=move || ui.get()>
            <h1>"Parley"</h1>
            <p class="tagline">{move || t().tagline}</p>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
            </Show>
            <Show
                when=move || me.get().is_some()
                fallback=move || view! { <AuthForms me hydrated ui/> }
            >
                <div class="signed-in">
                    <span>
                        {move || t().signed_in_as} " "
                        <strong class="who">{move || me.get().map(|m| m.user.display_name).unwrap_or_default()}</strong>
                    </span>
                    <Show when=move || me.get().is_some_and(|m| m.user.role == UserRole::Admin)>
                        <a href="/admin" class="admin-link">{move || t().admin_console}</a>
                    </Show>
                    <button class="secondary" on:click=sign_out>{move || t().sign_out}</button>
                </div>
            </Show>
            <Show when=move || loading.get()>
                <p class="loading" aria-busy="true">{move || t().loading}</p>
            </Show>
            <Show when=move || !loading.get() && rooms.with(Vec::is_empty)>
                <p class="empty">{move || t().no_rooms}</p>
            </Show>
            <RoomList rooms me ui/>
        </section>
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    Guest,
    SignIn,
    SignUp,
}

/// Guest name, sign-in and sign-up forms.
#[component]
fn AuthForms(me: RwSignal<Option<Me>>, hydrated: RwSignal<bool>, ui: RwSignal<String>) -> impl IntoView {
    let t = move || texts(&ui.get());
    let tab = RwSignal::new(Tab::Guest);
    let name = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (which, display, user, pass) =
            (tab.get_untracked(), name.get_untracked(), username.get_untracked(), password.get_untracked());
        if which == Tab::Guest && display.trim().is_empty() {
            error.set(Some(texts(&ui.get_untracked()).enter_a_name.into()));
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let done = match which {
                Tab::Guest => client::guest(display.trim()).await,
                Tab::SignIn => client::login(user.trim(), &pass).await,
                Tab::SignUp => {
                    let shown =
                        if display.trim().is_empty() { user.trim().to_owned() } else { display.trim().to_owned() };
                    client::signup(user.trim(), &pass, &shown).await
                }
            };
            match done {
                Ok(_) => match client::me().await {
                    Ok(found) => me.set(Some(found)),
                    Err(e) => error.set(Some(e.text(texts(&ui.get_untracked())))),
                },
                Err(e) => error.set(Some(e.text(texts(&ui.get_untracked())))),
            }
            busy.set(false);
        });
    };

    let tab_button = move |which: Tab, label: fn(&'static Texts) -> &'static str| {
        view! {
            <button
                type="button"
                role="tab"
                class="tab"
                class:active=move || tab.get() == which
                aria-selected=move || (tab.get() == which).to_string()
                on:click=move |_| {
                    tab.set(which);
                    error.set(None);
                }
            >
                {move || label(t())}
            </button>
        }
    };

    view! {
        <div class="auth">
            <div class="tabs" role="tablist">
                {tab_button(Tab::Guest, |t| t.join_as_guest)}
                {tab_button(Tab::SignIn, |t| t.sign_in)}
                {tab_button(Tab::SignUp, |t| t.create_account)}
            </div>
            <form class="join-form" on:submit=submit>
                <Show when=move || tab.get() != Tab::Guest>
                    <label for="username">{move || t().username}</label>
                    <input
                        id="username"
                        autocomplete="username"
                        maxlength="32"
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))
                    />
                    <label for="password">{move || t().password}</label>
                    <input
                        id="password"
                        type="password"
                        autocomplete=move || if tab.get() == Tab::SignUp { "new-password" } else { "current-password" }
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                </Show>
                <Show when=move || tab.get() != Tab::SignIn>
                    <label for="display-name">{move || t().your_name}</label>
                    <input
                        id="display-name"
                        name="display_name"
                        autocomplete="nickname"
                        maxlength="48"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </Show>
                <button type="submit" disabled=move || busy.get() || !hydrated.get()>
                    {move || match (busy.get(), tab.get()) {
                        (true, _) => t().one_moment,
                        (false, Tab::Guest) => t().continue_,
                        (false, Tab::SignIn) => t().sign_in,
                        (false, Tab::SignUp) => t().create_account_button,
                    }}
                </button>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
            </form>
        </div>
    }
}

/// Every room with its languages; locked ones show a padlock unless granted.
#[component]
fn RoomList(rooms: RwSignal<Vec<Room>>, me: RwSignal<Option<Me>>, ui: RwSignal<String>) -> impl IntoView {
    let t = move || texts(&ui.get());
    view! {
        <ul class="room-list" aria-label=move || t().rooms>
            <For
                each=move || rooms.get()
                key=move |room| (room.name.clone(), room.languages.clone(), room.locked_languages.clone(), me.with(Option::is_some))
                children=move |room| view! { <RoomCard room me ui/> }
            />
        </ul>
    }
}

/// One room: its languages, and how many messages you have not read there.
#[component]
fn RoomCard(room: Room, me: RwSignal<Option<Me>>, ui: RwSignal<String>) -> impl IntoView {
    let t = move || texts(&ui.get());
    // The language this person read in last time comes first.
    let preferred = me.get_untracked().and_then(|m| m.default_language);
    let mut langs = room.languages.clone();
    langs.sort_by_key(|l| Some(l) != preferred.as_ref());
    let unread = RwSignal::new(0_usize);
    let reading = langs.iter().find(|l| me.get_untracked().is_some_and(|m| m.may_read(&room, l))).cloned();
    if let Some(lang) = reading {
        let name = room.name.clone();
        Effect::new(move |_| {
            let (name, lang) = (name.clone(), lang.clone());
            spawn_local(async move {
                if let Some(read) = client::stored(&read_key(&name)).and_then(|v| v.parse::<i64>().ok()) {
                    unread.set(client::unread_in(&name, &lang, read).await.unwrap_or(0));
                }
            });
        });
    }
    let room_for_check = room.clone();
    view! {
        <li class="room-card" data-room=room.name.clone()>
            <h2>
                {room.title.clone()}
                <Show when=move || unread.get() != 0>
                    <span class="unread" data-unread=move || unread.get().to_string()>
                        {move || fill(t().unread, &[("n", &unread.get().to_string())])}
                    </span>
                </Show>
            </h2>
            <p class="hint">{move || t().read_it_in}</p>
            <div class="langs">
                {langs
                    .into_iter()
                    .map(|lang| {
                        let open = me.get_untracked().is_some_and(|m| m.may_read(&room_for_check, &lang));
                        let label = language_name(&lang);
                        let is_preferred = preferred.as_deref() == Some(lang.as_str());
                        if open {
                            view! {
                                <a
                                    class="lang"
                                    class:preferred=is_preferred
                                    href=format!("/rooms/{}/{lang}", room_for_check.name)
                                    lang=lang.clone()
                                    data-room=room_for_check.name.clone()
                                    data-lang=lang.clone()
                                >
                                    {label}
                                </a>
                            }
                                .into_any()
                        } else {
                            view! {
                                <span class="lang locked" title=move || t().ask_an_admin lang=lang.clone() data-lang=lang.clone()>
                                    "🔒 " {label}
                                </span>
                            }
                                .into_any()
                        }
                    })
                    .collect_view()}
            </div>
        </li>
    }
}
