//! The landing page: a display name and a room language, then into the room.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::client;
use crate::language_name;
use crate::wire::Room;

/// Asks for a display name and a room language, creates a guest session and opens the room.
#[component]
pub fn Landing() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let choice = RwSignal::new(String::from("lobby/en"));
    let rooms = RwSignal::new(Vec::<Room>::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let hydrated = RwSignal::new(false);

    Effect::new(move |_| {
        hydrated.set(true);
        spawn_local(async move {
            match client::rooms().await {
                Ok(list) => rooms.set(list),
                Err(e) => error.set(Some(format!("Cannot load the rooms: {e}"))),
            }
        });
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let display_name = name.get_untracked().trim().to_owned();
        if display_name.is_empty() {
            error.set(Some("Please enter a display name.".into()));
            return;
        }
        let target = choice.get_untracked();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match client::guest(&display_name).await {
                Ok(_) => client::navigate(&format!("/rooms/{target}")),
                Err(e) => {
                    error.set(Some(e.message));
                    busy.set(false);
                }
            }
        });
    };

    view! {
        <section class="landing" data-hydrated=move || hydrated.get().to_string()>
            <h1>"Parley"</h1>
            <p class="tagline">"Chat in your language. Everyone reads you in theirs."</p>
            <form class="join-form" on:submit=submit>
                <label for="display-name">"Your name"</label>
                <input
                    id="display-name"
                    name="display_name"
                    autocomplete="nickname"
                    maxlength="48"
                    required
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
                <label for="room-language">"Room and the language you read"</label>
                <select
                    id="room-language"
                    prop:value=move || choice.get()
                    on:change=move |ev| choice.set(event_target_value(&ev))
                >
                    {move || {
                        rooms
                            .get()
                            .into_iter()
                            .flat_map(|room| {
                                room.languages
                                    .clone()
                                    .into_iter()
                                    .map(move |lang| {
                                        let value = format!("{}/{}", room.name, lang);
                                        let label = format!("{} — {}", room.title, language_name(&lang));
                                        view! { <option value=value>{label}</option> }
                                    })
                            })
                            .collect_view()
                    }}
                </select>
                <button type="submit" disabled=move || busy.get() || !hydrated.get()>
                    {move || if busy.get() { "Joining…" } else { "Join" }}
                </button>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
            </form>
        </section>
    }
}
