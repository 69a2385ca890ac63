//! The admin console: rooms, users, webhooks and pipeline health.
//!
//! Everything here goes through the same public API as any client; the
//! session cookie carries the admin's rights, and the server checks them.
//! The console speaks the browser's language, like the landing page.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

use crate::client::{self, ApiError, Method};
use crate::i18n::{AdminTexts, admin_texts, fill, texts};
use crate::wire::{AdminUser, Delivery, DeliveryList, NodeHealth, Room, UserList, UserRole, Webhook, WebhookList};

/// A comma-separated field's words.
fn words(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

/// What the console's parts share: its language and the line that reports
/// the last action.
#[derive(Clone, Copy)]
struct Console {
    ui: RwSignal<String>,
    notice: RwSignal<Option<String>>,
}

impl Console {
    fn t(self) -> &'static AdminTexts {
        admin_texts(&self.ui.get())
    }

    fn say(self, text: String) {
        self.notice.set(Some(text));
    }

    fn fail(self, error: &ApiError) {
        self.say(error.text(texts(&self.ui.get_untracked())));
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Rooms,
    Users,
    Webhooks,
    Pipeline,
}

impl Section {
    /// Stable, for tests and styles.
    fn key(self) -> &'static str {
        match self {
            Section::Rooms => "rooms",
            Section::Users => "users",
            Section::Webhooks => "webhooks",
            Section::Pipeline => "pipeline",
        }
    }

    fn label(self, t: &'static AdminTexts) -> &'static str {
        match self {
            Section::Rooms => t.rooms,
            Section::Users => t.users,
            Section::Webhooks => t.webhooks,
            Section::Pipeline => t.pipeline,
        }
    }
}

/// The console; for administrators only (the server refuses everyone else).
#[component]
pub fn Admin() -> impl IntoView {
    let section = RwSignal::new(Section::Rooms);
    let allowed = RwSignal::new(None::<bool>);
    let hydrated = RwSignal::new(false);
    let console =
        Console { ui: RwSignal::new(texts(&client::browser_language()).code.to_owned()), notice: RwSignal::new(None) };
    let t = move || console.t();
    Effect::new(move |_| {
        hydrated.set(true);
        client::set_document_language(&console.ui.get_untracked(), false);
        client::set_title(&format!("{} · Parley", t().title));
        spawn_local(async move {
            allowed.set(Some(client::me().await.is_ok_and(|m| m.user.role == UserRole::Admin)));
        });
    });
    let tab = move |which: Section| {
        view! {
            <button
                type="button"
                role="tab"
                class="tab"
                data-section=which.key()
                class:active=move || section.get() == which
                aria-selected=move || (section.get() == which).to_string()
                on:click=move |_| {
                    console.notice.set(None);
                    section.set(which);
                }
            >
                {move || which.label(t())}
            </button>
        }
    };
    view! {
        <section class="admin" data-hydrated=move || hydrated.get().to_string() lang=move || console.ui.get()>
            <header class="room-header">
                <a href="/" class="back" aria-label=move || t().back>"←"</a>
                <h1>{move || t().title}</h1>
            </header>
            <Show when=move || allowed.get().is_none()>
                <p class="loading" aria-busy="true">{move || texts(&console.ui.get()).loading}</p>
            </Show>
            <Show when=move || allowed.get() == Some(false)>
                <p class="error" role="alert">{move || t().admins_only}</p>
            </Show>
            <Show when=move || allowed.get() == Some(true)>
                <div class="tabs" role="tablist">
                    {tab(Section::Rooms)}
                    {tab(Section::Users)}
                    {tab(Section::Webhooks)}
                    {tab(Section::Pipeline)}
                </div>
                <Show when=move || console.notice.get().is_some()>
                    <p class="notice" role="status">{move || console.notice.get().unwrap_or_default()}</p>
                </Show>
                {move || match section.get() {
                    Section::Rooms => view! { <Rooms console/> }.into_any(),
                    Section::Users => view! { <Users console/> }.into_any(),
                    Section::Webhooks => view! { <Webhooks console/> }.into_any(),
                    Section::Pipeline => view! { <Pipeline console/> }.into_any(),
                }}
            </Show>
        </section>
    }
}

/// A text input bound to a signal.
#[component]
fn Field(id: &'static str, label: Signal<&'static str>, value: RwSignal<String>) -> impl IntoView {
    view! {
        <label for=id>{label}</label>
        <input id=id prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
    }
}

/// A list loaded from the API: `None` until it arrives.
fn load<T: Send + Sync + 'static>(
    console: Console,
    found: RwSignal<Option<Vec<T>>>,
    fetch: impl AsyncFnOnce() -> Result<Vec<T>, ApiError> + 'static,
) {
    spawn_local(async move {
        match fetch().await {
            Ok(all) => found.set(Some(all)),
            Err(e) => {
                found.set(Some(Vec::new()));
                console.fail(&e);
            }
        }
    });
}

/// The room form's fields, as text.
#[derive(Clone, Copy)]
struct RoomForm {
    name: RwSignal<String>,
    title: RwSignal<String>,
    languages: RwSignal<String>,
    locked: RwSignal<String>,
    policy: RwSignal<String>,
    block: RwSignal<String>,
    allow: RwSignal<String>,
    budget: RwSignal<String>,
}

impl RoomForm {
    fn new() -> Self {
        let text = || RwSignal::new(String::new());
        RoomForm {
            name: text(),
            title: text(),
            languages: text(),
            locked: text(),
            policy: RwSignal::new("mask".to_owned()),
            block: text(),
            allow: text(),
            budget: text(),
        }
    }

    fn fill_from(self, room: &Room) {
        self.name.set(room.name.clone());
        self.title.set(room.title.clone());
        self.languages.set(room.languages.join(", "));
        self.locked.set(room.locked_languages.join(", "));
        self.policy.set(room.moderation.as_str().to_owned());
        self.block.set(room.block_words.join(", "));
        self.allow.set(room.allow_words.join(", "));
        self.budget.set(room.daily_char_budget.map(|b| b.to_string()).unwrap_or_default());
    }

    fn body(self) -> serde_json::Value {
        json!({
            "title": Some(self.title.get_untracked()).filter(|t| !t.trim().is_empty()),
            "languages": words(&self.languages.get_untracked()),
            "locked_languages": words(&self.locked.get_untracked()),
            "moderation": self.policy.get_untracked(),
            "block_words": words(&self.block.get_untracked()),
            "allow_words": words(&self.allow.get_untracked()),
            "daily_char_budget": self.budget.get_untracked().trim().parse::<i64>().ok(),
        })
    }
}

#[component]
fn Rooms(console: Console) -> impl IntoView {
    let t = move || console.t();
    let rooms = RwSignal::new(None::<Vec<Room>>);
    let reload = move || load(console, rooms, client::rooms);
    reload();
    let form = RoomForm::new();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let room = form.name.get_untracked().trim().to_owned();
        let body = form.body();
        spawn_local(async move {
            match client::fetch::<serde_json::Value>(Method::Put, &format!("/api/rooms/{room}"), Some(body), None).await
            {
                Ok(_) => {
                    console.say(fill(t().room_saved, &[("room", &room)]));
                    reload();
                }
                Err(e) => console.say(fill(t().not_saved, &[("error", &e.text(texts(&console.ui.get_untracked())))])),
            }
        });
    };
    let label = move |pick: fn(&AdminTexts) -> &'static str| Signal::derive(move || pick(t()));
    view! {
        <table class="admin-table" aria-label=move || t().rooms>
            <thead>
                <tr>
                    <th scope="col">{move || t().room}</th>
                    <th scope="col">{move || t().languages}</th>
                    <th scope="col">{move || t().locked}</th>
                    <th scope="col">{move || t().moderation}</th>
                    <th scope="col">{move || t().translated_today}</th>
                    <th scope="col"><span class="visually-hidden">{move || t().edit}</span></th>
                </tr>
            </thead>
            <tbody>
                <Show when=move || rooms.get().is_none()>
                    <tr><td colspan="6" class="loading" aria-busy="true">{move || texts(&console.ui.get()).loading}</td></tr>
                </Show>
                <Show when=move || rooms.with(|r| r.as_ref().is_some_and(Vec::is_empty))>
                    <tr><td colspan="6" class="empty">{move || t().no_rooms}</td></tr>
                </Show>
                <For
                    each=move || rooms.get().unwrap_or_default()
                    key=|r| format!("{r:?}")
                    children=move |room| {
                        let usage = match room.daily_char_budget {
                            Some(budget) => format!("{} / {budget}", room.characters_today),
                            None => room.characters_today.to_string(),
                        };
                        let (name, for_form) = (room.name.clone(), room.clone());
                        view! {
                            <tr data-room=room.name.clone()>
                                <td>{room.title.clone()} " (" {room.name.clone()} ")"</td>
                                <td class="coverage">{let r = room.clone(); move || coverage(&r, t())}</td>
                                <td>{room.locked_languages.join(", ")}</td>
                                <td>{room.moderation.as_str()}</td>
                                <td>{usage}</td>
                                <td>
                                    <button
                                        type="button"
                                        class="link"
                                        aria-label=move || fill(t().edit_room, &[("room", &name)])
                                        on:click=move |_| form.fill_from(&for_form)
                                    >
                                        {move || t().edit}
                                    </button>
                                </td>
                            </tr>
                        }
                    }
                />
            </tbody>
        </table>
        <form class="join-form admin-form" on:submit=save>
            <h2>{move || t().room_form}</h2>
            <Field id="room-name" label=label(|t| t.name_field) value=form.name/>
            <Field id="room-title" label=label(|t| t.title_field) value=form.title/>
            <Field id="room-languages" label=label(|t| t.languages_field) value=form.languages/>
            <Field id="room-locked" label=label(|t| t.locked_field) value=form.locked/>
            <label for="room-policy">{move || t().moderation}</label>
            <select id="room-policy" prop:value=move || form.policy.get() on:change=move |ev| form.policy.set(event_target_value(&ev))>
                <option value="mask">{move || t().policy_mask}</option>
                <option value="block">{move || t().policy_block}</option>
                <option value="flag">{move || t().policy_flag}</option>
            </select>
            <Field id="room-block" label=label(|t| t.block_field) value=form.block/>
            <Field id="room-allow" label=label(|t| t.allow_field) value=form.allow/>
            <Field id="room-budget" label=label(|t| t.budget_field) value=form.budget/>
            <button type="submit">{move || t().save_room}</button>
        </form>
    }
}

#[component]
fn Users(console: Console) -> impl IntoView {
    let t = move || console.t();
    let users = RwSignal::new(None::<Vec<AdminUser>>);
    let reload = move || {
        load(console, users, async || {
            client::fetch::<UserList>(Method::Get, "/api/users", None, None).await.map(|l| l.users)
        })
    };
    reload();
    let act = move |path: String, body: Option<serde_json::Value>, done: fn(&AdminTexts) -> &'static str| {
        spawn_local(async move {
            match client::act(Method::Post, &path, body).await {
                Ok(()) => {
                    console.say(done(t()).to_owned());
                    reload();
                }
                Err(e) => console.fail(&e),
            }
        });
    };
    view! {
        <table class="admin-table" aria-label=move || t().users>
            <thead>
                <tr>
                    <th scope="col">{move || t().user}</th>
                    <th scope="col">{move || t().role}</th>
                    <th scope="col">{move || t().granted}</th>
                    <th scope="col">{move || t().actions}</th>
                </tr>
            </thead>
            <tbody>
                <Show when=move || users.get().is_none()>
                    <tr><td colspan="4" class="loading" aria-busy="true">{move || texts(&console.ui.get()).loading}</td></tr>
                </Show>
                <For
                    each=move || users.get().unwrap_or_default()
                    key=|u| format!("{u:?}")
                    children=move |user| {
                        let grant = RwSignal::new(String::new());
                        let (ban_id, grant_id, banned) = (user.id.clone(), user.id.clone(), user.banned);
                        view! {
                            <tr data-user=user.id.clone()>
                                <td>{user.display_name.clone()} " " <span class="hint">{user.username.clone()}</span></td>
                                <td>{user.role.as_str()} {move || banned.then(|| format!(" ({})", t().banned))}</td>
                                <td>{user.grants.join(", ")}</td>
                                <td class="actions">
                                    <button
                                        type="button"
                                        class="link"
                                        on:click=move |_| {
                                            let verb = if banned { "unban" } else { "ban" };
                                            act(format!("/api/users/{ban_id}/{verb}"), None, |t| t.done)
                                        }
                                    >
                                        {move || if banned { t().unban } else { t().ban }}
                                    </button>
                                    <input
                                        aria-label=move || t().grant_label
                                        placeholder="room:lang"
                                        prop:value=move || grant.get()
                                        on:input=move |ev| grant.set(event_target_value(&ev))
                                    />
                                    <button
                                        type="button"
                                        class="link"
                                        on:click=move |_| {
                                            let value = grant.get_untracked();
                                            match value.split_once(':') {
                                                Some((room, lang)) if !room.trim().is_empty() && !lang.trim().is_empty() => {
                                                    let body = json!({ "room": room.trim(), "language": lang.trim() });
                                                    act(format!("/api/users/{grant_id}/languages"), Some(body), |t| t.granted_done);
                                                }
                                                _ => console.say(t().grant_format.to_owned()),
                                            }
                                        }
                                    >
                                        {move || t().grant}
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
fn Webhooks(console: Console) -> impl IntoView {
    let t = move || console.t();
    let hooks = RwSignal::new(None::<Vec<Webhook>>);
    load(console, hooks, async || {
        client::fetch::<WebhookList>(Method::Get, "/api/webhooks", None, None).await.map(|l| l.webhooks)
    });
    let shown = RwSignal::new(String::new());
    let log = RwSignal::new(None::<Vec<Delivery>>);
    let show_log = move |name: String| {
        shown.set(name.clone());
        log.set(None);
        load(console, log, async move || {
            let url = format!("/api/webhooks/{name}/deliveries?limit=50");
            client::fetch::<DeliveryList>(Method::Get, &url, None, None).await.map(|l| l.deliveries)
        });
    };
    let retry = move |id: String| {
        let name = shown.get_untracked();
        spawn_local(async move {
            let url = format!("/api/webhooks/{name}/deliveries/{id}/retry");
            match client::act(Method::Post, &url, None).await {
                Ok(()) => console.say(t().queued.to_owned()),
                Err(e) => console.fail(&e),
            }
        });
    };
    view! {
        <table class="admin-table" aria-label=move || t().webhooks>
            <thead>
                <tr>
                    <th scope="col">{move || t().webhook}</th>
                    <th scope="col">{move || t().topic}</th>
                    <th scope="col">{move || t().url}</th>
                    <th scope="col">{move || t().state}</th>
                    <th scope="col">{move || t().pending}</th>
                    <th scope="col">{move || t().failed}</th>
                    <th scope="col"><span class="visually-hidden">{move || t().deliveries}</span></th>
                </tr>
            </thead>
            <tbody>
                <Show when=move || hooks.get().is_none()>
                    <tr><td colspan="7" class="loading" aria-busy="true">{move || texts(&console.ui.get()).loading}</td></tr>
                </Show>
                <Show when=move || hooks.with(|h| h.as_ref().is_some_and(Vec::is_empty))>
                    <tr><td colspan="7" class="empty">{move || t().no_webhooks}</td></tr>
                </Show>
                <For
                    each=move || hooks.get().unwrap_or_default()
                    key=|h| format!("{h:?}")
                    children=move |hook| {
                        let name = hook.name.clone();
                        let reason = hook.disabled_reason.clone().unwrap_or_default();
                        let enabled = hook.enabled;
                        view! {
                            <tr data-webhook=hook.name.clone()>
                                <td>{hook.name.clone()}</td>
                                <td>{hook.topic.clone()}</td>
                                <td class="url">{hook.url.clone()}</td>
                                <td>{move || if enabled { t().enabled.to_owned() } else { fill(t().disabled, &[("reason", &reason)]) }}</td>
                                <td>{hook.pending}</td>
                                <td>{hook.failed}</td>
                                <td><button type="button" class="link" on:click=move |_| show_log(name.clone())>{move || t().deliveries}</button></td>
                            </tr>
                        }
                    }
                />
            </tbody>
        </table>
        <Show when=move || !shown.get().is_empty()>
            <h2>{move || fill(t().deliveries_of, &[("name", &shown.get())])}</h2>
            <table class="admin-table delivery-log" aria-label=move || t().deliveries>
                <thead>
                    <tr>
                        <th scope="col">{move || t().id}</th>
                        <th scope="col">{move || t().seq}</th>
                        <th scope="col">{move || t().status}</th>
                        <th scope="col">{move || t().attempts}</th>
                        <th scope="col">{move || t().last_answer}</th>
                        <th scope="col"><span class="visually-hidden">{move || t().retry}</span></th>
                    </tr>
                </thead>
                <tbody>
                    <Show when=move || log.get().is_none()>
                        <tr><td colspan="6" class="loading" aria-busy="true">{move || texts(&console.ui.get()).loading}</td></tr>
                    </Show>
                    <Show when=move || log.with(|l| l.as_ref().is_some_and(Vec::is_empty))>
                        <tr><td colspan="6" class="empty">{move || t().no_deliveries}</td></tr>
                    </Show>
                    <For
                        each=move || log.get().unwrap_or_default()
                        key=|d| format!("{d:?}")
                        children=move |d| {
                            let failed = d.status == "failed";
                            let answer = format!(
                                "{} {}",
                                d.last_status.map(|s| s.to_string()).unwrap_or_default(),
                                d.last_error.clone().unwrap_or_default()
                            );
                            let id = d.id.clone();
                            view! {
                                <tr>
                                    <td>{d.id.clone()}</td>
                                    <td>{d.seq}</td>
                                    <td>{d.status.clone()}</td>
                                    <td>{d.attempts}</td>
                                    <td>{answer}</td>
                                    <td>{failed.then(|| view! { <button type="button" class="link" on:click=move |_| retry(id.clone())>{move || t().retry}</button> })}</td>
                                </tr>
                            }
                        }
                    />
                </tbody>
            </table>
        </Show>
    }
}

/// The node's and its pipeline's health, from the typed `GET /api/health`.
#[component]
fn Pipeline(console: Console) -> impl IntoView {
    let t = move || console.t();
    let health = RwSignal::new(None::<NodeHealth>);
    let problem = RwSignal::new(None::<String>);
    spawn_local(async move {
        match client::fetch::<NodeHealth>(Method::Get, "/api/health", None, None).await {
            Ok(found) => health.set(Some(found)),
            Err(e) => problem.set(Some(e.text(texts(&console.ui.get_untracked())))),
        }
    });
    let ms = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1} ms"));
    view! {
        <div class="health">
            <Show when=move || problem.get().is_some()>
                <p class="error" role="alert">{move || problem.get().unwrap_or_default()}</p>
            </Show>
            <Show when=move || health.get().is_none() && problem.get().is_none()>
                <p class="loading" aria-busy="true">{move || texts(&console.ui.get()).loading}</p>
            </Show>
            {move || health.get().map(|h| {
                let t = t();
                let pipeline = h.pipeline.clone();
                view! {
                    <h2>{t.node}</h2>
                    <ul>
                        <li>{fill(t.readiness, &[("value", &h.ready)])}</li>
                        <li>{fill(t.bus, &[("value", &h.bus)])}</li>
                        <li>{fill(t.subscriptions, &[("n", &h.subscribers.to_string())])}</li>
                        <li>
                            {fill(
                                t.dead_letters,
                                &[("internal", &h.dead_letters_internal.to_string()), ("external", &h.dead_letters_external.to_string())],
                            )}
                        </li>
                    </ul>
                    {match pipeline {
                        None => view! { <p class="hint">{t.pipeline_apart}</p> }.into_any(),
                        Some(p) => {
                            let total = p.cache_hits + p.cache_misses;
                            let rate = if total > 0 { 100.0 * p.cache_hits as f64 / total as f64 } else { 0.0 };
                            let cache = fill(
                                t.cache_line,
                                &[
                                    ("hits", &p.cache_hits.to_string()),
                                    ("misses", &p.cache_misses.to_string()),
                                    ("rate", &format!("{rate:.0}")),
                                    ("failures", &p.provider_failures.to_string()),
                                ],
                            );
                            view! {
                                <h2>{t.providers}</h2>
                                <ul>
                                    {p.providers.iter().map(|provider| view! {
                                        <li>{provider.name.clone()} ": " {if provider.up { t.up } else { t.failing }}</li>
                                    }).collect_view()}
                                </ul>
                                <h2>{t.cache}</h2>
                                <p>{cache}</p>
                                <h2>{t.latency}</h2>
                                <table class="admin-table">
                                    <thead>
                                        <tr>
                                            <th scope="col">{t.stage}</th>
                                            <th scope="col">{t.mean}</th>
                                            <th scope="col">"p50"</th>
                                            <th scope="col">"p99"</th>
                                            <th scope="col">{t.count}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {p.stages.iter().map(|(stage, s)| view! {
                                            <tr><td>{stage.clone()}</td><td>{ms(s.mean_ms)}</td><td>{ms(s.p50_ms)}</td><td>{ms(s.p99_ms)}</td><td>{s.count}</td></tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <p class="hint">{fill(t.processed, &[("n", &p.messages.to_string())])}</p>
                            }.into_any()
                        }
                    }}
                }
            })}
        </div>
    }
}

/// A room's languages, each with how its readers get the others: offline,
/// through which provider, or which languages reach it untranslated.
fn coverage(room: &Room, t: &'static AdminTexts) -> impl IntoView + use<> {
    room.languages
        .iter()
        .map(|lang| {
            let (class, note) = match room.translation.get(lang) {
                None => ("lang", String::new()),
                Some(c) if !c.missing.is_empty() => {
                    ("lang warn", fill(t.untranslated_from, &[("languages", &c.missing.join(", "))]))
                }
                Some(c) if c.offline => ("lang ok", t.offline.to_owned()),
                Some(c) => ("lang", fill(t.via, &[("providers", &c.providers.join(", "))])),
            };
            view! {
                <span class=class>
                    {lang.clone()}
                    {(!note.is_empty()).then(|| view! { " " <small>{note}</small> })}
                </span>
            }
        })
        .collect_view()
}
