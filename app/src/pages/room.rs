//! The room view: live messages in the reader's language, and a send box.

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use crate::client;
use crate::language_name;
use serde_json::json;

use crate::wire::{Envelope, Frame, JoinAnswer, Me, Room, User, clock_time};

/// The reconnect delay doubles from this, up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: u32 = 500;
const MAX_BACKOFF_MS: u32 = 10_000;

/// Messages loaded per page of history.
const HISTORY_PAGE: u32 = 50;

/// Presence: how often a reader says it is online, how often typing is
/// announced at most, and how long each is shown after it was last heard.
const ONLINE_EVERY_SECS: u64 = 20;
const TYPING_EVERY_SECS: u64 = 3;
const ONLINE_SHOWN_SECS: u64 = 45;
const TYPING_SHOWN_SECS: u64 = 4;

/// When someone was last heard from on the presence topic, in page seconds.
#[derive(Clone, PartialEq)]
struct Seen {
    id: String,
    name: String,
    online: Option<u64>,
    typing: Option<u64>,
}

/// Records a presence item: typing also means online.
fn note_presence(all: &mut Vec<Seen>, who: crate::wire::Author, now: u64, typing: bool) {
    let entry = match all.iter_mut().position(|p| p.id == who.id) {
        Some(i) => &mut all[i],
        None => {
            all.push(Seen { id: who.id, name: who.name, online: None, typing: None });
            let last = all.len() - 1;
            &mut all[last]
        }
    };
    entry.online = Some(now);
    if typing {
        entry.typing = Some(now);
    }
}

/// A message of ours that the pipeline has not returned yet.
#[derive(Clone, PartialEq)]
struct Pending {
    seq: i64,
    text: String,
}

/// Where the subscription stands, shown to the reader.
#[derive(Clone, Copy, PartialEq)]
enum Connection {
    Connecting,
    Live,
    Reconnecting,
    Failed,
}

impl Connection {
    fn label(self) -> &'static str {
        match self {
            Connection::Connecting => "connecting",
            Connection::Live => "live",
            Connection::Reconnecting => "reconnecting",
            Connection::Failed => "failed",
        }
    }
}

/// Marks each message that continues its author's previous one (same
/// author, within the same ten minutes), so the list groups them.
fn grouped(messages: impl Iterator<Item = Envelope>) -> Vec<(Envelope, bool)> {
    let mut out: Vec<(Envelope, bool)> = Vec::new();
    for m in messages {
        let continued = out.last().is_some_and(|(prev, _)| {
            prev.author.id == m.author.id
                && prev.sent_at.get(..15).is_some()
                && prev.sent_at.get(..15) == m.sent_at.get(..15)
        });
        out.push((m, continued));
    }
    out
}

/// Inserts or replaces a message, keeping `source_seq` order.
fn upsert(messages: &mut Vec<Envelope>, envelope: Envelope) {
    if let Some(existing) = messages.iter_mut().find(|m| m.id == envelope.id) {
        // Versions only move forward; an untranslated copy and its
        // translation share a version, and the translation comes last.
        if envelope.version >= existing.version {
            *existing = envelope;
        }
        return;
    }
    let at = messages.partition_point(|m| m.source_seq <= envelope.source_seq);
    messages.insert(at, envelope);
}

#[component]
pub fn RoomView() -> impl IntoView {
    let params = use_params_map();
    let room = move || params.read().get("room").unwrap_or_default();
    let lang = move || params.read().get("lang").unwrap_or_default();

    let messages = RwSignal::new(Vec::<Envelope>::new());
    let pending = RwSignal::new(Vec::<Pending>::new());
    let connection = RwSignal::new(Connection::Connecting);
    let problem = RwSignal::new(None::<String>);
    let me = RwSignal::new(None::<User>);
    let viewer = RwSignal::new(None::<Me>);
    let room_info = RwSignal::new(None::<Room>);
    let editing = RwSignal::new(None::<i64>);
    // Presence: seconds since the page opened, and when each person was last seen online or typing.
    let tick = RwSignal::new(0_u64);
    let presence = RwSignal::new(Vec::<Seen>::new());
    let last_typing_sent = StoredValue::new(None::<u64>);
    // History paging: the oldest seq loaded on the subscribe topic, and whether there is more.
    let oldest = RwSignal::new(None::<i64>);
    let has_more = RwSignal::new(false);
    let loading_older = RwSignal::new(false);
    let add_history = move |page: Vec<(i64, serde_json::Value)>| {
        messages.update(|all| {
            for (_, value) in page {
                if let Ok(envelope) = serde_json::from_value::<Envelope>(value) {
                    upsert(all, envelope);
                }
            }
        });
    };
    let joined = RwSignal::new(None::<JoinAnswer>);
    let draft = RwSignal::new(String::new());
    let hydrated = RwSignal::new(false);

    // Presence runs beside the messages: a clock, a heartbeat, and the presence topic.
    Effect::new(move |_| {
        spawn_local(async move {
            loop {
                client::sleep_ms(1000).await;
                tick.update(|t| *t += 1);
                if tick.get_untracked() % ONLINE_EVERY_SECS == 1
                    && let Some(answer) = joined.get_untracked()
                {
                    let _ = client::publish(&answer.presence_topic, &answer.token, json!({"kind": "online"})).await;
                }
            }
        });
        spawn_local(async move {
            loop {
                if let Some(answer) = joined.get_untracked().filter(|a| !a.presence_topic.is_empty()) {
                    let on_text = move |text: String| {
                        if let Ok(Frame::Item { value, publisher: Some(who), .. }) =
                            serde_json::from_str::<Frame>(&text)
                        {
                            let now = tick.get_untracked();
                            let typing = value["kind"] == "typing";
                            presence.update(|all| note_presence(all, who, now, typing));
                        }
                    };
                    let _ = client::subscribe(&answer.presence_topic, &answer.token, None, || {}, on_text).await;
                }
                client::sleep_ms(2000).await;
            }
        });
    });

    Effect::new(move |_| {
        hydrated.set(true);
        let (room, lang) = (room(), lang());
        spawn_local(async move {
            let user = match client::me().await {
                Ok(user) => user,
                Err(e) if e.status == 401 => return client::navigate("/"),
                Err(e) => {
                    problem.set(Some(e.message));
                    return connection.set(Connection::Failed);
                }
            };
            me.set(Some(user.user.clone()));
            viewer.set(Some(user));
            if let Ok(all) = client::rooms().await {
                room_info.set(all.into_iter().find(|r| r.name == room));
            }
            let last_seq = Rc::new(Cell::new(0_i64));
            let mut backoff = FIRST_BACKOFF_MS;
            loop {
                // Join again on every (re)connect: it renews the token.
                match client::join(&room, &lang).await {
                    Ok(answer) => joined.set(Some(answer)),
                    Err(e) if e.status == 401 => return client::navigate("/"),
                    Err(e) if e.status == 403 || e.status == 404 => {
                        problem.set(Some(e.message));
                        return connection.set(Connection::Failed);
                    }
                    Err(_) => {
                        connection.set(Connection::Reconnecting);
                        client::sleep_ms(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF_MS);
                        continue;
                    }
                }
                let Some(answer) = joined.get_untracked() else {
                    continue;
                };
                // First connection: the latest page of history, then live from there.
                if oldest.get_untracked().is_none() {
                    match client::history(&answer.subscribe_topic, &answer.token, None, HISTORY_PAGE).await {
                        Ok(page) => {
                            has_more.set(page.len() == HISTORY_PAGE as usize);
                            oldest.set(Some(page.first().map_or(0, |(seq, _)| *seq)));
                            if let Some((seq, _)) = page.last() {
                                last_seq.set(*seq);
                            }
                            add_history(page);
                        }
                        Err(_) => oldest.set(Some(0)),
                    }
                }
                let seen = last_seq.clone();
                let on_text = move |text: String| match serde_json::from_str::<Frame>(&text) {
                    Ok(Frame::Item { seq, value, .. }) => {
                        seen.set(seq);
                        if let Ok(envelope) = serde_json::from_value::<Envelope>(value) {
                            let source_seq = envelope.source_seq;
                            pending.update(|p| p.retain(|m| m.seq != source_seq));
                            messages.update(|all| upsert(all, envelope));
                        }
                    }
                    Ok(Frame::Discontinuity { .. } | Frame::Heartbeat) | Err(_) => {}
                };
                let on_open = move || {
                    connection.set(Connection::Live);
                    problem.set(None);
                };
                let result =
                    client::subscribe(&answer.subscribe_topic, &answer.token, Some(last_seq.get()), on_open, on_text)
                        .await;
                if result.is_ok() {
                    backoff = FIRST_BACKOFF_MS;
                }
                connection.set(Connection::Reconnecting);
                client::sleep_ms(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF_MS);
            }
        });
    });

    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked().trim().to_owned();
        let Some(answer) = joined.get_untracked() else {
            return;
        };
        if text.is_empty() {
            return;
        }
        draft.set(String::new());
        let lang = lang();
        let target = editing.get_untracked();
        editing.set(None);
        let value = match target {
            Some(seq) => json!({ "op": "edit", "target_seq": seq, "text": text, "lang": lang }),
            None => json!({ "text": text, "lang": lang }),
        };
        spawn_local(async move {
            match client::publish(&answer.publish_topic, &answer.token, value).await {
                Ok(_) if target.is_some() => {}
                Ok(seq) => {
                    let arrived = messages.with_untracked(|all| all.iter().any(|m| m.source_seq == seq));
                    if !arrived {
                        pending.update(|p| p.push(Pending { seq, text }));
                    }
                }
                Err(e) => {
                    draft.set(text);
                    problem.set(Some(format!("Not sent: {}", e.message)));
                }
            }
        });
    };

    let my_id = move || me.get().map(|u| u.id).unwrap_or_default();

    let typed = move || {
        let now = tick.get_untracked();
        if last_typing_sent.get_value().is_some_and(|at| now < at + TYPING_EVERY_SECS) {
            return;
        }
        last_typing_sent.set_value(Some(now));
        let Some(answer) = joined.get_untracked() else { return };
        spawn_local(async move {
            let _ = client::publish(&answer.presence_topic, &answer.token, json!({"kind": "typing"})).await;
        });
    };
    let others = move |within: u64, typing: bool| {
        let (now, me) = (tick.get(), my_id());
        presence.with(|all| {
            all.iter()
                .filter(|p| p.id != me)
                .filter(|p| {
                    let at = if typing { p.typing } else { p.online };
                    at.is_some_and(|at| now <= at + within)
                })
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        })
    };

    let load_older = move || {
        let (Some(answer), Some(before)) = (joined.get_untracked(), oldest.get_untracked()) else { return };
        if loading_older.get_untracked() || !has_more.get_untracked() || before <= 1 {
            return;
        }
        loading_older.set(true);
        spawn_local(async move {
            if let Ok(page) = client::history(&answer.subscribe_topic, &answer.token, Some(before), HISTORY_PAGE).await
            {
                has_more.set(page.len() == HISTORY_PAGE as usize);
                if let Some((seq, _)) = page.first() {
                    oldest.set(Some(*seq));
                }
                add_history(page);
            }
            loading_older.set(false);
        });
    };

    let delete = move |seq: i64| {
        let Some(answer) = joined.get_untracked() else { return };
        spawn_local(async move {
            let value = json!({ "op": "delete", "target_seq": seq });
            if let Err(e) = client::publish(&answer.publish_topic, &answer.token, value).await {
                problem.set(Some(format!("Not deleted: {}", e.message)));
            }
        });
    };

    let switch_language = move |ev: leptos::ev::Event| {
        let to = event_target_value(&ev);
        if to != lang() {
            client::navigate(&format!("/rooms/{}/{to}", room()));
        }
    };

    view! {
        <section
            class="room"
            data-hydrated=move || hydrated.get().to_string()
            data-status=move || connection.get().label()
        >
            <header class="room-header">
                <a href="/" class="back" aria-label="All rooms">"←"</a>
                <h1>{move || format!("#{}", room())}</h1>
                <label for="reading-language" class="visually-hidden">"Reading language"</label>
                <select id="reading-language" class="reading" on:change=switch_language prop:value=lang>
                    {move || {
                        let current = lang();
                        let info = room_info.get();
                        let who = viewer.get();
                        let langs = info.as_ref().map(|r| r.languages.clone()).unwrap_or_else(|| vec![current.clone()]);
                        langs
                            .into_iter()
                            .map(|l| {
                                let open = match (&info, &who) {
                                    (Some(r), Some(m)) => m.may_read(r, &l),
                                    _ => true,
                                };
                                let label = if open { language_name(&l) } else { format!("🔒 {}", language_name(&l)) };
                                let selected = l == current;
                                view! { <option value=l disabled=!open selected=selected>{label}</option> }
                            })
                            .collect_view()
                    }}
                </select>
                <span class=move || format!("connection {}", connection.get().label()) role="status">
                    {move || connection.get().label()}
                </span>
            </header>
            <Show when=move || problem.get().is_some()>
                <p class="error" role="alert">{move || problem.get().unwrap_or_default()}</p>
            </Show>
            <ol
                class="messages"
                aria-live="polite"
                aria-label="Messages"
                on:scroll=move |ev| {
                    let near_top = event_target::<leptos::web_sys::Element>(&ev).scroll_top() < 40;
                    if near_top {
                        load_older();
                    }
                }
            >
                <Show when=move || has_more.get()>
                    <li class="older">
                        <button type="button" class="link" on:click=move |_| load_older()>
                            {move || if loading_older.get() { "Loading…" } else { "Load earlier messages" }}
                        </button>
                    </li>
                </Show>
                <For
                    // Blocked messages are shown to their author only, with the reason.
                    each=move || {
                        let me = my_id();
                        let visible = messages.get().into_iter().filter(|m| m.moderation.action != "blocked" || m.author.id == me);
                        grouped(visible)
                    }
                    key=|(m, continued)| (m.id.clone(), m.version, m.translated, *continued)
                    children=move |(m, continued)| {
                        let mine = m.author.id == my_id();
                        let show_original = !m.deleted && (m.translated || m.original.lang != m.lang);
                        let edited = (m.edited && !m.deleted).then(|| view! { <span class="badge">"edited"</span> });
                        let original_label = format!("Original ({})", language_name(&m.original.lang));
                        let moderation = (m.moderation.action != "none").then(|| m.moderation.action.clone());
                        view! {
                            <li class="message" class:mine=mine class:continued=continued data-seq=m.source_seq data-id=m.id.clone()>
                                <div class="meta">
                                    <span class="author">{m.author.name.clone()}</span>
                                    <time datetime=m.sent_at.clone()>{clock_time(&m.sent_at)}</time>
                                    {moderation.map(|a| view! { <span class="badge">{a}</span> })}
                                    {edited}
                                </div>
                                {if m.moderation.action == "blocked" {
                                    let reason = m.moderation.flags.join(", ");
                                    view! { <p class="text blocked">"Your message was blocked by moderation: " {reason}</p> }.into_any()
                                } else if m.deleted {
                                    view! { <p class="text deleted">"This message was deleted."</p> }.into_any()
                                } else {
                                    view! { <p class="text" lang=m.lang.clone()>{m.text.clone()}</p> }.into_any()
                                }}
                                {show_original.then(|| view! {
                                    <details class="original">
                                        <summary>{original_label}</summary>
                                        <p lang=m.original.lang.clone()>{m.original.text.clone()}</p>
                                    </details>
                                })}
                                {m.note.clone().map(|n| view! { <p class="note">{n}</p> })}
                                {(mine && !m.deleted).then(|| {
                                    let (seq, original) = (m.source_seq, m.original.text.clone());
                                    view! {
                                        <div class="own-actions">
                                            <button
                                                type="button"
                                                class="link edit"
                                                aria-label="Edit this message"
                                                on:click=move |_| {
                                                    editing.set(Some(seq));
                                                    draft.set(original.clone());
                                                }
                                            >
                                                "Edit"
                                            </button>
                                            <button
                                                type="button"
                                                class="link delete"
                                                aria-label="Delete this message"
                                                on:click=move |_| delete(seq)
                                            >
                                                "Delete"
                                            </button>
                                        </div>
                                    }
                                })}
                            </li>
                        }
                    }
                />
                <For
                    each=move || pending.get()
                    key=|p| p.seq
                    children=move |p| view! {
                        <li class="message mine pending" data-pending-seq=p.seq>
                            <div class="meta"><span class="author">"You"</span><span class="badge">"translating…"</span></div>
                            <p class="text">{p.text}</p>
                        </li>
                    }
                />
            </ol>
            <p class="presence" aria-live="polite">
                {move || {
                    let typing = others(TYPING_SHOWN_SECS, true);
                    match typing.len() {
                        0 => String::new(),
                        1 => format!("{} is typing…", typing[0]),
                        _ => format!("{} are typing…", typing.join(", ")),
                    }
                }}
                <span class="online">
                    {move || {
                        let online = others(ONLINE_SHOWN_SECS, false);
                        if online.is_empty() { String::new() } else { format!("Online: {}", online.join(", ")) }
                    }}
                </span>
            </p>
            <Show when=move || editing.get().is_some()>
                <p class="editing">
                    "Editing your message. "
                    <button
                        type="button"
                        class="link"
                        on:click=move |_| {
                            editing.set(None);
                            draft.set(String::new());
                        }
                    >
                        "Cancel"
                    </button>
                </p>
            </Show>
            <form class="send-box" on:submit=send>
                <label for="message" class="visually-hidden">"Message"</label>
                <input
                    id="message"
                    name="message"
                    autocomplete="off"
                    maxlength="4000"
                    placeholder=move || format!("Write in {}…", language_name(&lang()))
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        draft.set(event_target_value(&ev));
                        typed();
                    }
                />
                <button type="submit" disabled=move || joined.get().is_none()>
                    {move || if editing.get().is_some() { "Save" } else { "Send" }}
                </button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(id: &str, source_seq: i64, version: i64, author: &str, sent_at: &str, text: &str) -> Envelope {
        serde_json::from_value(serde_json::json!({
            "id": id, "source_seq": source_seq, "version": version, "author": {"id": author, "name": author},
            "lang": "en", "text": text, "original": {"lang": "en", "text": text}, "translated": false,
            "moderation": {"action": "none"}, "sent_at": sent_at
        }))
        .unwrap()
    }

    #[test]
    fn upsert_orders_by_source_seq_and_keeps_the_newest_version() {
        let mut all = Vec::new();
        upsert(&mut all, envelope("p:2", 2, 2, "a", "t", "second"));
        upsert(&mut all, envelope("p:1", 1, 1, "a", "t", "first"));
        upsert(&mut all, envelope("p:1", 1, 5, "a", "t", "first, edited"));
        upsert(&mut all, envelope("p:1", 1, 3, "a", "t", "an older edit arriving late"));
        let texts: Vec<&str> = all.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["first, edited", "second"]);
    }

    #[test]
    fn consecutive_messages_of_one_author_are_grouped() {
        let messages = vec![
            envelope("p:1", 1, 1, "ana", "2026-11-29T10:01:00.000Z", "a"),
            envelope("p:2", 2, 2, "ana", "2026-11-29T10:02:00.000Z", "b"),
            envelope("p:3", 3, 3, "bia", "2026-11-29T10:02:30.000Z", "c"),
            envelope("p:4", 4, 4, "bia", "2026-11-29T10:40:00.000Z", "d"),
        ];
        let flags: Vec<bool> = grouped(messages.into_iter()).into_iter().map(|(_, c)| c).collect();
        assert_eq!(flags, [false, true, false, false]);
    }
}
