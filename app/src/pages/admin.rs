//! The admin console: rooms, users, webhooks and pipeline health.
//!
//! Everything here goes through the same public API as any client; the
//! session cookie carries the admin's rights, and the server checks them.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

use crate::client::{self, Method};

fn s(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn list(v: &Value, key: &str) -> String {
    v[key].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

fn words(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Rooms,
    Users,
    Webhooks,
    Pipeline,
}

/// The console; for administrators only (the server refuses everyone else).
#[component]
pub fn Admin() -> impl IntoView {
    let section = RwSignal::new(Section::Rooms);
    let allowed = RwSignal::new(None::<bool>);
    let hydrated = RwSignal::new(false);
    let notice = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        hydrated.set(true);
        spawn_local(async move {
            allowed.set(Some(client::me().await.is_ok_and(|m| m.user.role == "admin")));
        });
    });
    let tab = move |which: Section, label: &'static str| {
        view! {
            <button
                type="button"
                role="tab"
                class="tab"
                class:active=move || section.get() == which
                aria-selected=move || (section.get() == which).to_string()
                on:click=move |_| section.set(which)
            >
                {label}
            </button>
        }
    };
    view! {
        <section class="admin" data-hydrated=move || hydrated.get().to_string()>
            <header class="room-header">
                <a href="/" class="back" aria-label="Back to the rooms">"←"</a>
                <h1>"Admin console"</h1>
            </header>
            <Show when=move || allowed.get() == Some(false)>
                <p class="error" role="alert">"Administrators only. Sign in as an administrator first."</p>
            </Show>
            <Show when=move || allowed.get() == Some(true)>
                <div class="tabs" role="tablist">
                    {tab(Section::Rooms, "Rooms")}
                    {tab(Section::Users, "Users")}
                    {tab(Section::Webhooks, "Webhooks")}
                    {tab(Section::Pipeline, "Pipeline health")}
                </div>
                <Show when=move || notice.get().is_some()>
                    <p class="notice" role="status">{move || notice.get().unwrap_or_default()}</p>
                </Show>
                {move || match section.get() {
                    Section::Rooms => view! { <Rooms notice/> }.into_any(),
                    Section::Users => view! { <Users notice/> }.into_any(),
                    Section::Webhooks => view! { <Webhooks notice/> }.into_any(),
                    Section::Pipeline => view! { <Pipeline/> }.into_any(),
                }}
            </Show>
        </section>
    }
}

/// A text input bound to a signal.
#[component]
fn Field(id: &'static str, label: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! {
        <label for=id>{label}</label>
        <input id=id prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
    }
}

#[component]
fn Rooms(notice: RwSignal<Option<String>>) -> impl IntoView {
    let rooms = RwSignal::new(Vec::<Value>::new());
    let reload = move || {
        spawn_local(async move {
            if let Ok(v) = client::fetch::<Value>(Method::Get, "/api/rooms", None, None).await {
                rooms.set(v["rooms"].as_array().cloned().unwrap_or_default());
            }
        });
    };
    reload();
    let (name, title, languages, locked) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let (policy, block, allow, budget) = (
        RwSignal::new("mask".to_owned()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let edit = move |room: Value| {
        name.set(s(&room, "name"));
        title.set(s(&room, "title"));
        languages.set(list(&room, "languages"));
        locked.set(list(&room, "locked_languages"));
        policy.set(s(&room, "moderation"));
        block.set(list(&room, "block_words"));
        allow.set(list(&room, "allow_words"));
        budget.set(s(&room, "daily_char_budget"));
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = json!({
            "title": Some(title.get_untracked()).filter(|t| !t.trim().is_empty()),
            "languages": words(&languages.get_untracked()),
            "locked_languages": words(&locked.get_untracked()),
            "moderation": policy.get_untracked(),
            "block_words": words(&block.get_untracked()),
            "allow_words": words(&allow.get_untracked()),
            "daily_char_budget": budget.get_untracked().trim().parse::<i64>().ok(),
        });
        let room = name.get_untracked().trim().to_owned();
        spawn_local(async move {
            match client::fetch::<Value>(Method::Put, &format!("/api/rooms/{room}"), Some(body), None).await {
                Ok(_) => {
                    notice.set(Some(format!("Room {room} saved.")));
                    reload();
                }
                Err(e) => notice.set(Some(format!("Not saved: {}", e.message))),
            }
        });
    };
    view! {
        <table class="admin-table" aria-label="Rooms">
            <thead>
                <tr><th>"Room"</th><th>"Languages"</th><th>"Locked"</th><th>"Moderation"</th><th>"Translated today"</th><th></th></tr>
            </thead>
            <tbody>
                <For
                    each=move || rooms.get()
                    key=|r| r.to_string()
                    children=move |room| {
                        let r = room.clone();
                        let usage = match room["daily_char_budget"].as_i64() {
                            Some(b) => format!("{} / {b}", s(&room, "characters_today")),
                            None => s(&room, "characters_today"),
                        };
                        view! {
                            <tr data-room=s(&room, "name")>
                                <td>{s(&room, "title")} " (" {s(&room, "name")} ")"</td>
                                <td>{list(&room, "languages")}</td>
                                <td>{list(&room, "locked_languages")}</td>
                                <td>{s(&room, "moderation")}</td>
                                <td>{usage}</td>
                                <td><button type="button" class="link" on:click=move |_| edit(r.clone())>"Edit"</button></td>
                            </tr>
                        }
                    }
                />
            </tbody>
        </table>
        <form class="join-form admin-form" on:submit=save>
            <h2>"Create or change a room"</h2>
            <Field id="room-name" label="Name (a-z 0-9 _ -)" value=name/>
            <Field id="room-title" label="Title" value=title/>
            <Field id="room-languages" label="Languages (e.g. en, es, pt)" value=languages/>
            <Field id="room-locked" label="Locked languages (need a grant)" value=locked/>
            <label for="room-policy">"Moderation"</label>
            <select id="room-policy" prop:value=move || policy.get() on:change=move |ev| policy.set(event_target_value(&ev))>
                <option value="mask">"mask offending words"</option>
                <option value="block">"block the message"</option>
                <option value="flag">"deliver it flagged"</option>
            </select>
            <Field id="room-block" label="Extra words to moderate (comma-separated)" value=block/>
            <Field id="room-allow" label="Words never to flag" value=allow/>
            <Field id="room-budget" label="Daily translation budget (characters, empty: none)" value=budget/>
            <button type="submit">"Save room"</button>
        </form>
    }
}

#[component]
fn Users(notice: RwSignal<Option<String>>) -> impl IntoView {
    let users = RwSignal::new(Vec::<Value>::new());
    let reload = move || {
        spawn_local(async move {
            match client::fetch::<Value>(Method::Get, "/api/users", None, None).await {
                Ok(v) => users.set(v["users"].as_array().cloned().unwrap_or_default()),
                Err(e) => notice.set(Some(e.message)),
            }
        });
    };
    reload();
    let act = move |path: String, body: Option<Value>, done: &'static str| {
        spawn_local(async move {
            match client::act(Method::Post, &path, body).await {
                Ok(()) => {
                    notice.set(Some(done.to_owned()));
                    reload();
                }
                Err(e) => notice.set(Some(e.message)),
            }
        });
    };
    view! {
        <table class="admin-table" aria-label="Users">
            <thead><tr><th>"User"</th><th>"Role"</th><th>"Granted"</th><th>"Actions"</th></tr></thead>
            <tbody>
                <For
                    each=move || users.get()
                    key=|u| u.to_string()
                    children=move |user| {
                        let id = s(&user, "id");
                        let banned = user["banned"].as_bool().unwrap_or(false);
                        let grant = RwSignal::new(String::new());
                        let (ban_id, grant_id) = (id.clone(), id.clone());
                        view! {
                            <tr data-user=id.clone()>
                                <td>{s(&user, "display_name")} " " <span class="hint">{s(&user, "username")}</span></td>
                                <td>{s(&user, "role")} {banned.then_some(" (banned)")}</td>
                                <td>{list(&user, "grants")}</td>
                                <td class="actions">
                                    <button
                                        type="button"
                                        class="link"
                                        on:click=move |_| {
                                            let verb = if banned { "unban" } else { "ban" };
                                            act(format!("/api/users/{ban_id}/{verb}"), None, "Done.")
                                        }
                                    >
                                        {if banned { "Unban" } else { "Ban" }}
                                    </button>
                                    <input
                                        aria-label="Grant room:language"
                                        placeholder="room:lang"
                                        prop:value=move || grant.get()
                                        on:input=move |ev| grant.set(event_target_value(&ev))
                                    />
                                    <button
                                        type="button"
                                        class="link"
                                        on:click=move |_| {
                                            let value = grant.get_untracked();
                                            if let Some((room, lang)) = value.split_once(':') {
                                                let body = json!({ "room": room.trim(), "language": lang.trim() });
                                                act(format!("/api/users/{grant_id}/languages"), Some(body), "Language granted.");
                                            }
                                        }
                                    >
                                        "Grant"
                                    </button>
                                </td>
                            </tr>
                        }
                    }
                />
            </tbody>
        </table>
    }
}

#[component]
fn Webhooks(notice: RwSignal<Option<String>>) -> impl IntoView {
    let hooks = RwSignal::new(Vec::<Value>::new());
    let log = RwSignal::new((String::new(), Vec::<Value>::new()));
    spawn_local(async move {
        match client::fetch::<Value>(Method::Get, "/api/webhooks", None, None).await {
            Ok(v) => hooks.set(v["webhooks"].as_array().cloned().unwrap_or_default()),
            Err(e) => notice.set(Some(e.message)),
        }
    });
    let show_log = move |name: String| {
        spawn_local(async move {
            let url = format!("/api/webhooks/{name}/deliveries?limit=50");
            if let Ok(v) = client::fetch::<Value>(Method::Get, &url, None, None).await {
                log.set((name, v["deliveries"].as_array().cloned().unwrap_or_default()));
            }
        });
    };
    let retry = move |id: String| {
        let name = log.get_untracked().0;
        spawn_local(async move {
            let url = format!("/api/webhooks/{name}/deliveries/{id}/retry");
            match client::act(Method::Post, &url, None).await {
                Ok(()) => notice.set(Some("Queued for another attempt.".into())),
                Err(e) => notice.set(Some(e.message)),
            }
        });
    };
    view! {
        <table class="admin-table" aria-label="Webhooks">
            <thead><tr><th>"Webhook"</th><th>"Topic"</th><th>"URL"</th><th>"State"</th><th>"Pending"</th><th>"Failed"</th><th></th></tr></thead>
            <tbody>
                <For
                    each=move || hooks.get()
                    key=|h| h.to_string()
                    children=move |hook| {
                        let name = s(&hook, "name");
                        let state = if hook["enabled"].as_bool().unwrap_or(false) { "enabled".to_owned() } else { format!("disabled: {}", s(&hook, "disabled_reason")) };
                        view! {
                            <tr>
                                <td>{name.clone()}</td>
                                <td>{s(&hook, "topic")}</td>
                                <td class="url">{s(&hook, "url")}</td>
                                <td>{state}</td>
                                <td>{s(&hook, "pending")}</td>
                                <td>{s(&hook, "failed")}</td>
                                <td><button type="button" class="link" on:click=move |_| show_log(name.clone())>"Deliveries"</button></td>
                            </tr>
                        }
                    }
                />
            </tbody>
        </table>
        <Show when=move || !log.get().0.is_empty()>
            <h2>"Deliveries of " {move || log.get().0}</h2>
            <table class="admin-table delivery-log" aria-label="Delivery log">
                <thead><tr><th>"Id"</th><th>"Seq"</th><th>"Status"</th><th>"Attempts"</th><th>"Last answer"</th><th></th></tr></thead>
                <tbody>
                    <For
                        each=move || log.get().1
                        key=|d| d.to_string()
                        children=move |d| {
                            let id = s(&d, "id");
                            let failed = s(&d, "status") == "failed";
                            let answer = format!("{} {}", s(&d, "last_status"), s(&d, "last_error"));
                            view! {
                                <tr>
                                    <td>{id.clone()}</td>
                                    <td>{s(&d, "seq")}</td>
                                    <td>{s(&d, "status")}</td>
                                    <td>{s(&d, "attempts")}</td>
                                    <td>{answer}</td>
                                    <td>{failed.then(|| view! { <button type="button" class="link" on:click=move |_| retry(id.clone())>"Retry"</button> })}</td>
                                </tr>
                            }
                        }
                    />
                </tbody>
            </table>
        </Show>
    }
}

/// Pipeline health, read from `/metrics`.
#[component]
fn Pipeline() -> impl IntoView {
    let metrics = RwSignal::new(String::new());
    spawn_local(async move {
        if let Ok(text) = client::text("/metrics").await {
            metrics.set(text);
        }
    });
    let value = move |name: &str| -> f64 {
        metrics.with(|m| {
            m.lines()
                .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        })
    };
    let providers = move || {
        metrics.with(|m| {
            m.lines()
                .filter_map(|l| l.strip_prefix("parley_translation_provider_up{provider=\""))
                .filter_map(|l| l.split_once("\"} "))
                .map(|(name, up)| (name.to_owned(), up == "1"))
                .collect::<Vec<_>>()
        })
    };
    let stage = move |stage: &str| {
        let sum = value(&format!("parley_pipeline_stage_seconds_sum{{stage=\"{stage}\"}}"));
        let count = value(&format!("parley_pipeline_stage_seconds_count{{stage=\"{stage}\"}}"));
        if count > 0.0 { format!("{:.1} ms", 1000.0 * sum / count) } else { "–".into() }
    };
    view! {
        <div class="health">
            <h2>"Translation providers"</h2>
            <ul>
                {move || {
                    providers()
                        .into_iter()
                        .map(|(name, up)| view! { <li>{name} ": " {if up { "up" } else { "failing (skipped for now)" }}</li> })
                        .collect_view()
                }}
            </ul>
            <h2>"Cache"</h2>
            <p>
                {move || {
                    let (hits, misses) = (value("parley_translation_cache_hits_total"), value("parley_translation_cache_misses_total"));
                    let rate = if hits + misses > 0.0 { 100.0 * hits / (hits + misses) } else { 0.0 };
                    format!("{hits} hits, {misses} misses ({rate:.0} % hit rate)")
                }}
            </p>
            <h2>"Average latency per stage"</h2>
            <ul>
                {move || ["detect", "moderate", "translate", "publish"]
                    .into_iter()
                    .map(|s| view! { <li>{s} ": " {stage(s)}</li> })
                    .collect_view()}
            </ul>
            <p class="hint">{move || format!("{} messages processed", value("parley_pipeline_messages_total"))}</p>
        </div>
    }
}
