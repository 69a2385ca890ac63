//! The room's newest messages in the page's first HTML, before the app has
//! loaded: what a reader came for is on screen at the first paint instead of
//! after the wasm, the join and the history request (a few seconds on a slow
//! phone). The live list takes its place once its history is in.
//!
//! The server looks the messages up for the session's user (only in a
//! language that user may read) and passes them in as [`RoomPreview`]; the
//! list is rendered to HTML on the server and left alone by hydration (an
//! `inner_html` is not rewritten when it came from the server).

use leptos::prelude::*;

use super::model::{hue, initials};
use crate::wire::{Envelope, ModerationAction};

/// What the server found for this request: the newest messages, oldest
/// first, and who is reading (to tell their own messages).
#[derive(Debug, Clone, Default)]
pub struct RoomPreview {
    pub messages: Vec<Envelope>,
    pub reader_id: Option<String>,
}

/// The preview list, hidden once the live list has loaded. Its items are
/// rendered once, on the server; hydration keeps an `inner_html` that came
/// from the server as it is.
#[component]
pub(crate) fn Preview(state: super::RoomState) -> impl IntoView {
    let t = move || crate::i18n::texts(&state.lang.get());
    let items = html(&state.lang.get_untracked());
    view! { <ol class="preview" aria-label=move || t().messages hidden=move || state.loaded.get() inner_html=items></ol> }
}

/// The preview's items as HTML: empty in the browser and when the server
/// had nothing to show.
fn html(lang: &str) -> String {
    #[cfg(feature = "ssr")]
    if let Some(preview) = use_context::<RoomPreview>() {
        return render(&preview, lang);
    }
    let _ = lang;
    String::new()
}

/// The messages as list items, shaped and styled like the live list's
/// (text escaped by the renderer). Blocked messages are left out: the live
/// list shows them to their author only, with the reason.
#[cfg_attr(not(feature = "ssr"), allow(dead_code))]
fn render(preview: &RoomPreview, lang: &str) -> String {
    let t = crate::i18n::texts(lang);
    let mut out = String::new();
    for m in preview.messages.iter().filter(|m| m.moderation.action != ModerationAction::Blocked) {
        let mine = preview.reader_id.as_deref() == Some(m.author.id.as_str());
        let text = if m.deleted {
            view! { <p class="text deleted">{t.deleted}</p> }.into_any()
        } else {
            view! { <p class="text" lang=m.lang.clone()>{m.text.clone()}</p> }.into_any()
        };
        let item = view! {
            <li class="preview-item" class:mine=mine>
                <span class="avatar" style=format!("--hue: {}", hue(&m.author.id)) aria-hidden="true">
                    {initials(&m.author.name)}
                </span>
                <div class="bubble">
                    <div class="meta">
                        <span class="author">{m.author.name.clone()}</span>
                    </div>
                    {text}
                </div>
            </li>
        };
        out.push_str(&item.to_html());
    }
    out
}

#[cfg(test)]
#[cfg(feature = "ssr")]
mod tests {
    use super::*;

    fn envelope(id: &str, author: &str, text: &str, action: &str) -> Envelope {
        serde_json::from_value(serde_json::json!({
            "id": id, "room": "lobby", "source_seq": 1, "author": {"id": author, "name": "Ana <b>"}, "lang": "en", "text": text,
            "original": {"lang": "en", "text": text}, "translated": false,
            "moderation": {"action": action, "flags": []}, "sent_at": "2026-12-07T10:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn renders_escaped_messages_and_leaves_out_blocked_ones() {
        let owner = Owner::new();
        owner.with(|| {
            let preview = RoomPreview {
                messages: vec![
                    envelope("a", "u1", "<script>alert(1)</script>", "none"),
                    envelope("b", "u2", "secretword", "blocked"),
                ],
                reader_id: Some("u1".into()),
            };
            let html = render(&preview, "en");
            assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"), "{html}");
            assert!(!html.contains("<b>"), "{html}");
            assert!(!html.contains("secretword"), "{html}");
            assert_eq!(html.matches("preview-item").count(), 1, "{html}");
            assert!(html.contains("mine"), "the reader's own message: {html}");
        });
    }

    #[test]
    fn nothing_without_a_preview() {
        Owner::new().with(|| assert_eq!(html("en"), ""));
    }
}
