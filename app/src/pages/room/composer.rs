//! Writing: Enter sends, Escape cancels an edit, ↑ in an empty box edits
//! your last message; typing is announced on the presence topic.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

use super::RoomState;
use super::model::Pending;
use crate::client;
use crate::i18n::{fill, texts};

/// Typing is announced at most this often.
const TYPING_EVERY_SECS: u64 = 3;

#[component]
pub(crate) fn Composer(state: RoomState) -> impl IntoView {
    let t = move || texts(&state.lang.get());
    let last_typing_sent = StoredValue::new(None::<u64>);
    let input = NodeRef::<leptos::html::Input>::new();

    let cancel_edit = move || {
        state.editing.set(None);
        state.draft.set(String::new());
    };
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = state.draft.get_untracked().trim().to_owned();
        let Some(answer) = state.joined.get_untracked() else { return };
        if text.is_empty() {
            return;
        }
        state.draft.set(String::new());
        let lang = state.lang.get_untracked();
        let target = state.editing.get_untracked();
        state.editing.set(None);
        let value = match target {
            Some(seq) => json!({ "op": "edit", "target_seq": seq, "text": text, "lang": lang }),
            None => json!({ "text": text, "lang": lang }),
        };
        spawn_local(async move {
            match client::publish(&answer.publish_topic, &answer.token, value).await {
                Ok(_) if target.is_some() => {}
                Ok(seq) => {
                    let arrived = state.messages.with_untracked(|all| all.iter().any(|m| m.source_seq == seq));
                    if !arrived {
                        state.pending.update(|p| p.push(Pending { seq, text }));
                    }
                }
                Err(e) => {
                    state.draft.set(text);
                    let t = texts(&state.lang.get_untracked());
                    state.problem.set(Some(fill(t.not_sent, &[("error", &e.text(t))])));
                }
            }
        });
    };
    let typed = move || {
        let now = state.tick.get_untracked();
        if last_typing_sent.get_value().is_some_and(|at| now < at + TYPING_EVERY_SECS) {
            return;
        }
        last_typing_sent.set_value(Some(now));
        let Some(answer) = state.joined.get_untracked() else { return };
        spawn_local(async move {
            let _ = client::publish(&answer.presence_topic, &answer.token, json!({"kind": "typing"})).await;
        });
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" if state.editing.get_untracked().is_some() => {
            ev.prevent_default();
            cancel_edit();
        }
        "ArrowUp" if state.draft.with_untracked(String::is_empty) => {
            // Edit the last message of ours that is still there.
            let me = state.my_id();
            let last = state.messages.with_untracked(|all| {
                all.iter()
                    .rev()
                    .find(|m| m.author.id == me && !m.deleted)
                    .map(|m| (m.source_seq, m.original.text.clone()))
            });
            if let Some((seq, text)) = last {
                ev.prevent_default();
                state.editing.set(Some(seq));
                state.draft.set(text);
            }
        }
        _ => {}
    };
    // Editing from a message's button puts the cursor in the box.
    Effect::new(move |_| {
        if state.editing.get().is_some()
            && let Some(input) = input.get_untracked()
        {
            let _ = input.focus();
        }
    });

    view! {
        <Show when=move || state.editing.get().is_some()>
            <p class="editing">
                {move || t().editing} " "
                <button type="button" class="link" on:click=move |_| cancel_edit()>
                    {move || t().cancel}
                </button>
            </p>
        </Show>
        <form class="send-box" on:submit=send>
            <label for="message" class="visually-hidden">{move || t().message}</label>
            <input
                id="message"
                name="message"
                node_ref=input
                autocomplete="off"
                maxlength="4000"
                placeholder=move || {
                    let lang = state.lang.get();
                    fill(texts(&lang).write_in, &[("language", &super::language_for_reader(&lang, &lang))])
                }
                prop:value=move || state.draft.get()
                on:input=move |ev| {
                    state.draft.set(event_target_value(&ev));
                    typed();
                }
                on:keydown=on_key
            />
            <button type="submit" disabled=move || state.joined.get().is_none()>
                {move || if state.editing.get().is_some() { t().save } else { t().send }}
            </button>
        </form>
    }
}
