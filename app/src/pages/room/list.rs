//! The message list: opens at the newest message and stays there while the
//! reader is there; when they have scrolled up, new messages wait behind a
//! "N new messages" pill; loading older messages keeps their place.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

use super::model::{Line, Pending, hue, initials, lines, mentions};
use super::{RoomState, connection, language_for_reader};
use crate::client;
use crate::i18n::{fill, language_in, texts};
use crate::wire::{Envelope, ModerationAction};

/// How close to the bottom (pixels) still counts as "at the newest message".
const AT_BOTTOM_PX: i32 = 48;
/// How close to the top starts loading older messages.
const NEAR_TOP_PX: i32 = 40;

/// The reactions offered under each message (the server accepts these only).
const REACTIONS: [&str; 6] = ["👍", "❤️", "😂", "😮", "😢", "🎉"];

/// What the list looked like at the last change: first and last message, and how many.
type Shape = (Option<String>, Option<String>, usize);

#[component]
pub(crate) fn MessageList(state: RoomState) -> impl IntoView {
    let list = NodeRef::<leptos::html::Ol>::new();
    let at_bottom = RwSignal::new(true);
    let unseen = RwSignal::new(0_usize);
    // The scroll position and height just before older messages were asked for.
    let before_older = StoredValue::new(None::<(i32, i32)>);
    let t = move || texts(&state.lang.get());

    // The newest message this browser has shown, for the landing page's unread counts.
    let remember_read = move || {
        if client::page_hidden() {
            return;
        }
        if let Some(newest) = state.messages.with_untracked(|all| all.last().map(|m| m.source_seq)) {
            client::store(&crate::pages::landing::read_key(&state.room.get_untracked()), &newest.to_string());
        }
    };
    let to_bottom = move || {
        if let Some(list) = list.get_untracked() {
            list.set_scroll_top(list.scroll_height());
        }
        unseen.set(0);
        at_bottom.set(true);
        remember_read();
    };
    // After every change to the list: keep the reader's place, or follow the
    // conversation, or count what came in below them. The scrolling waits
    // for the next frame, when the new messages are laid out.
    Effect::new(move |previous: Option<Shape>| {
        let shape: Shape =
            state.messages.with(|all| (all.first().map(|m| m.id.clone()), all.last().map(|m| m.id.clone()), all.len()));
        let Some((first, last, count)) = previous else { return shape };
        if shape.2 <= count {
            return shape;
        }
        if shape.1 == last && shape.0 != first {
            // Older messages above: the same messages stay in view.
            if let Some((top, height)) = before_older.get_value() {
                before_older.set_value(None);
                request_animation_frame(move || {
                    if let Some(element) = list.get_untracked() {
                        element.set_scroll_top(top + element.scroll_height() - height);
                    }
                });
            }
        } else {
            let mine = state.messages.with_untracked(|all| {
                all.last()
                    .is_some_and(|m| state.me.with_untracked(|me| me.as_ref().is_some_and(|u| u.id == m.author.id)))
            });
            if at_bottom.get_untracked() || mine || count == 0 {
                request_animation_frame(to_bottom);
            } else {
                unseen.update(|n| *n += shape.2 - count);
            }
        }
        shape
    });
    // Our own message, waiting for its translation, is shown at once: go there.
    Effect::new(move |previous: Option<usize>| {
        let count = state.pending.with(Vec::len);
        if previous.is_some_and(|p| count > p) {
            request_animation_frame(to_bottom);
        }
        count
    });

    let on_scroll = move |_| {
        let Some(element) = list.get_untracked() else { return };
        let bottom = element.scroll_height() - element.scroll_top() - element.client_height() < AT_BOTTOM_PX;
        at_bottom.set(bottom);
        if bottom {
            unseen.set(0);
            remember_read();
        }
        if element.scroll_top() < NEAR_TOP_PX && state.has_more.get_untracked() && !state.loading_older.get_untracked()
        {
            before_older.set_value(Some((element.scroll_top(), element.scroll_height())));
            connection::load_older(state);
        }
    };

    view! {
        <div class="messages-frame">
            <super::preview::Preview state/>
            <ol class="messages" node_ref=list aria-live="polite" aria-label=move || t().messages on:scroll=on_scroll>
                <Show when=move || state.has_more.get()>
                    <li class="older">
                        <button
                            type="button"
                            class="link"
                            on:click=move |_| {
                                if let Some(element) = list.get_untracked() {
                                    before_older.set_value(Some((element.scroll_top(), element.scroll_height())));
                                }
                                connection::load_older(state);
                            }
                        >
                            {move || if state.loading_older.get() { t().loading } else { t().load_earlier }}
                        </button>
                    </li>
                </Show>
                <Show when=move || state.loaded.get() && state.messages.with(Vec::is_empty) && state.pending.with(Vec::is_empty)>
                    <li class="empty">{move || t().no_messages_yet}</li>
                </Show>
                <Show when=move || !state.loaded.get()>
                    <li class="loading" aria-busy="true">{move || t().loading}</li>
                </Show>
                <For
                    // Blocked messages are shown to their author only, with the reason.
                    each=move || {
                        let me = state.my_id();
                        let visible = state.messages.get().into_iter().filter(|m| m.moderation.action != ModerationAction::Blocked || m.author.id == me);
                        lines(visible, client::local_day)
                    }
                    key=|line| match line {
                        Line::Day(day) => format!("day:{day}"),
                        Line::Message(m, continued) => format!("{}:{}:{}:{continued}", m.id, m.version, m.translated),
                    }
                    children=move |line| match line {
                        Line::Day(day) => view! { <DaySeparator state day/> }.into_any(),
                        Line::Message(m, continued) => view! { <Message state m=*m continued/> }.into_any(),
                    }
                />
                <For
                    each=move || state.pending.get()
                    key=|p| p.seq
                    children=move |p: Pending| view! {
                        <li class="message mine pending" data-pending-seq=p.seq>
                            <div class="meta">
                                <span class="author">{move || t().you}</span>
                                <span class="badge">{move || t().translating}</span>
                            </div>
                            <p class="text">{p.text}</p>
                        </li>
                    }
                />
            </ol>
            <Show when=move || unseen.get() != 0>
                <button type="button" class="new-messages" on:click=move |_| to_bottom()>
                    {move || fill(t().new_messages, &[("n", &unseen.get().to_string())])}
                </button>
            </Show>
        </div>
    }
}

/// "Today", "Yesterday" or the date, where the day changes.
#[component]
fn DaySeparator(state: RoomState, day: String) -> impl IntoView {
    let label = move || {
        let lang = state.lang.get();
        let (t, today) = (texts(&lang), client::today_local());
        if day == today {
            t.today.to_owned()
        } else if !today.is_empty() && day == super::model::day_before(&today) {
            t.yesterday.to_owned()
        } else {
            client::long_day(&day, &lang)
        }
    };
    view! {
        <li class="day">
            <span>{label}</span>
        </li>
    }
}

/// One message: avatar, author, time, badges, text (or why there is none),
/// the original, reactions and, for its author, edit and delete.
#[component]
fn Message(state: RoomState, m: Envelope, continued: bool) -> impl IntoView {
    let t = texts(&state.lang.get_untracked());
    let mine = m.author.id == state.my_id();
    let my_name = state.me.with_untracked(|me| me.as_ref().map(|u| u.display_name.clone()).unwrap_or_default());
    let mentioned = !mine && !m.deleted && mentions(&m.text, &my_name);
    let show_original = !m.deleted && (m.translated || m.original.lang != m.lang);
    let original_label = fill(t.original_in, &[("language", &language_for_reader(&m.original.lang, &m.lang))]);
    let moderation = match m.moderation.action {
        ModerationAction::Masked => Some(t.masked),
        ModerationAction::Flagged => Some(t.flagged),
        ModerationAction::None | ModerationAction::Blocked => None,
    };
    let avatar = (!continued).then(|| {
        view! {
            <span class="avatar" style=format!("--hue: {}", hue(&m.author.id)) aria-hidden="true">
                {initials(&m.author.name)}
            </span>
        }
    });
    let body = if m.moderation.action == ModerationAction::Blocked {
        let reason = m.moderation.flags.join(", ");
        view! { <p class="text blocked">{t.blocked_reason} " " {reason}</p> }.into_any()
    } else if m.deleted {
        view! { <p class="text deleted">{t.deleted}</p> }.into_any()
    } else {
        view! { <p class="text" lang=m.lang.clone()>{m.text.clone()}</p> }.into_any()
    };
    let note = m.note.as_ref().map(|english| {
        let (from, to) = (language_in(&m.original.lang, &m.lang), language_in(&m.lang, &m.lang));
        match m.note_code.as_deref() {
            Some("over_budget") => t.note_over_budget.to_owned(),
            Some("translation_pending") => fill(t.note_pending, &[("from", &from), ("to", &to)]),
            Some("no_translation") => fill(t.note_no_translation, &[("from", &from), ("to", &to)]),
            _ => english.clone(),
        }
    });
    let (seq, id, original) = (m.source_seq, m.id.clone(), m.original.text.clone());
    // "2 minutes ago" for the last hour (redrawn as the clock ticks), then the time of day.
    let (sent_at, lang) = (m.sent_at.clone(), state.lang.get_untracked());
    let full_time =
        format!("{} {}", client::long_day(&client::local_day(&sent_at), &lang), client::local_time(&sent_at, &lang));
    let when = move || {
        client::time_ago(&sent_at, &lang, {
            state.clock.track();
            client::now_ms()
        })
        .unwrap_or_else(|| client::local_time(&sent_at, &lang))
    };
    view! {
        <li
            class="message"
            class:mine=mine
            class:continued=continued
            class:mention=mentioned
            data-seq=m.source_seq
            data-id=m.id.clone()
        >
            {avatar}
            <div class="bubble">
                <div class="meta">
                    <span class="author">{m.author.name.clone()}</span>
                    <time datetime=m.sent_at.clone() title=full_time>{when}</time>
                    {moderation.map(|label| view! { <span class="badge">{label}</span> })}
                    {(m.edited && !m.deleted).then(|| view! { <span class="badge">{t.edited}</span> })}
                    {mentioned.then(|| view! { <span class="badge mention-badge">"@"</span> })}
                </div>
                {body}
                {show_original.then(|| view! {
                    <details class="original">
                        <summary>{original_label}</summary>
                        <p lang=m.original.lang.clone()>{m.original.text.clone()}</p>
                    </details>
                })}
                {note.map(|n| view! { <p class="note">{n}</p> })}
                {(!m.deleted).then(|| view! { <Reactions state target=id.clone()/> })}
                {(mine && !m.deleted).then(|| view! {
                    <div class="own-actions">
                        <button
                            type="button"
                            class="link edit"
                            aria-label=t.edit_this
                            on:click=move |_| {
                                state.editing.set(Some(seq));
                                state.draft.set(original.clone());
                            }
                        >
                            {t.edit}
                        </button>
                        <button type="button" class="link delete" aria-label=t.delete_this on:click=move |_| delete(state, seq)>
                            {t.delete}
                        </button>
                    </div>
                })}
            </div>
        </li>
    }
}

/// A message's reactions, and a palette to add one (or take it back).
#[component]
fn Reactions(state: RoomState, target: String) -> impl IntoView {
    let open = RwSignal::new(false);
    let t = texts(&state.lang.get_untracked());
    let target_for_list = target.clone();
    let chips = move || {
        let me = state.my_id();
        state.reactions.with(|all| {
            all.get(&target_for_list)
                .map(|by_emoji| {
                    by_emoji
                        .iter()
                        .filter(|(_, people)| !people.is_empty())
                        .map(|(emoji, people)| {
                            let names = people.iter().map(|(_, name)| name.clone()).collect::<Vec<_>>().join(", ");
                            (emoji.clone(), people.len(), people.iter().any(|(id, _)| *id == me), names)
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let send = move |target: String, emoji: String, on: bool| {
        let Some(answer) = state.joined.get_untracked() else { return };
        if answer.reactions_topic.is_empty() {
            return;
        }
        spawn_local(async move {
            let value = json!({"target": target, "emoji": emoji, "on": on});
            let _ = client::publish(&answer.reactions_topic, &answer.token, value).await;
        });
    };
    let target_for_chips = target.clone();
    view! {
        <div class="reactions">
            <For
                each=chips
                key=|(emoji, count, pressed, _)| (emoji.clone(), *count, *pressed)
                children=move |(emoji, count, pressed, names)| {
                    let (target, label) = (target_for_chips.clone(), emoji.clone());
                    view! {
                        <button
                            type="button"
                            class="reaction"
                            class:pressed=pressed
                            aria-pressed=pressed.to_string()
                            title=names.clone()
                            aria-label=format!("{label} {count}: {names}")
                            on:click=move |_| send(target.clone(), label.clone(), !pressed)
                        >
                            {emoji.clone()} " " <span class="count">{count}</span>
                        </button>
                    }
                }
            />
            <button
                type="button"
                class="reaction add"
                aria-label=t.react
                title=t.react
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                "☺"
            </button>
            <Show when=move || open.get()>
                <span class="palette" role="group" aria-label=t.react>
                    {REACTIONS
                        .iter()
                        .map(|emoji| {
                            let target = target.clone();
                            view! {
                                <button
                                    type="button"
                                    class="reaction choice"
                                    aria-label=*emoji
                                    on:click=move |_| {
                                        send(target.clone(), (*emoji).to_owned(), true);
                                        open.set(false);
                                    }
                                >
                                    {*emoji}
                                </button>
                            }
                        })
                        .collect_view()}
                </span>
            </Show>
        </div>
    }
}

/// Deletes one of our messages.
fn delete(state: RoomState, seq: i64) {
    let Some(answer) = state.joined.get_untracked() else { return };
    spawn_local(async move {
        let value = json!({ "op": "delete", "target_seq": seq });
        if let Err(e) = client::publish(&answer.publish_topic, &answer.token, value).await {
            let t = texts(&state.lang.get_untracked());
            state.problem.set(Some(fill(t.not_deleted, &[("error", &e.text(t))])));
        }
    });
}
