//! The landing page: sign in (as a guest, or with an account), then pick a
//! room and the language to read it in.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::client;
use crate::language_name;
use crate::wire::{Me, Room};

/// Signs people in and lists the rooms.
#[component]
pub fn Landing() -> impl IntoView {
    let me = RwSignal::new(None::<Me>);
    let rooms = RwSignal::new(Vec::<Room>::new());
    let error = RwSignal::new(None::<String>);
    let hydrated = RwSignal::new(false);

    Effect::new(move |_| {
        hydrated.set(true);
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
                Err(e) => error.set(Some(format!("Cannot load the rooms: {e}"))),
            }
        });
    });

    let sign_out = move |_| {
        spawn_local(async move {
            let _ = client::logout().await;
            me.set(None);
        });
    };

    view! {
        <section class="landing" data-hydrated=move || hydrated.get().to_string()>
            <h1>"Parley"</h1>
            <p class="tagline">"Chat in your language. Everyone reads you in theirs."</p>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
            </Show>
            <Show
                when=move || me.get().is_some()
                fallback=move || view! { <AuthForms me hydrated/> }
            >
                <div class="signed-in">
                    <span>
                        "Signed in as "
                        <strong class="who">{move || me.get().map(|m| m.user.display_name).unwrap_or_default()}</strong>
                    </span>
                    <Show when=move || me.get().is_some_and(|m| m.user.role == "admin")>
                        <a href="/admin" class="admin-link">"Admin console"</a>
                    </Show>
                    <button class="secondary" on:click=sign_out>"Sign out"</button>
                </div>
                <RoomList rooms me/>
            </Show>
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
fn AuthForms(me: RwSignal<Option<Me>>, hydrated: RwSignal<bool>) -> impl IntoView {
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
            error.set(Some("Please enter a display name.".into()));
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
                    Err(e) => error.set(Some(e.message)),
                },
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    let tab_button = move |which: Tab, label: &'static str| {
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
                {label}
            </button>
        }
    };

    view! {
        <div class="auth">
            <div class="tabs" role="tablist">
                {tab_button(Tab::Guest, "Join as a guest")}
                {tab_button(Tab::SignIn, "Sign in")}
                {tab_button(Tab::SignUp, "Create an account")}
            </div>
            <form class="join-form" on:submit=submit>
                <Show when=move || tab.get() != Tab::Guest>
                    <label for="username">"Username"</label>
                    <input
                        id="username"
                        autocomplete="username"
                        maxlength="32"
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))
                    />
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        type="password"
                        autocomplete=move || if tab.get() == Tab::SignUp { "new-password" } else { "current-password" }
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                </Show>
                <Show when=move || tab.get() != Tab::SignIn>
                    <label for="display-name">"Your name"</label>
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
                        (true, _) => "One moment…",
                        (false, Tab::Guest) => "Continue",
                        (false, Tab::SignIn) => "Sign in",
                        (false, Tab::SignUp) => "Create account",
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
fn RoomList(rooms: RwSignal<Vec<Room>>, me: RwSignal<Option<Me>>) -> impl IntoView {
    view! {
        <ul class="room-list" aria-label="Rooms">
            <For
                each=move || rooms.get()
                key=|room| (room.name.clone(), room.languages.clone(), room.locked_languages.clone())
                children=move |room| {
                    // The language this person read in last time comes first.
                    let preferred = me.get_untracked().and_then(|m| m.default_language);
                    let mut langs = room.languages.clone();
                    langs.sort_by_key(|l| Some(l) != preferred.as_ref());
                    let room_for_check = room.clone();
                    view! {
                        <li class="room-card">
                            <h2>{room.title.clone()}</h2>
                            <p class="hint">"Read it in:"</p>
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
                                                    data-room=room_for_check.name.clone()
                                                    data-lang=lang.clone()
                                                >
                                                    {label}
                                                </a>
                                            }
                                                .into_any()
                                        } else {
                                            view! {
                                                <span class="lang locked" title="Ask an administrator for this language" data-lang=lang.clone()>
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
            />
        </ul>
    }
}
