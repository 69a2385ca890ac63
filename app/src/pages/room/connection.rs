//! The room's link to the server: joins (again at every reconnect, which
//! renews the token), loads the latest page of history, follows the
//! reading language's topic live with resume, and follows the presence and
//! reactions topics beside it.

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

use super::model::{Placed, mentions, note_presence, react, upsert};
use super::{Connection, RoomState};
use crate::client;
use crate::i18n::texts;
use crate::wire::{Envelope, Frame, Reaction};

/// The reconnect delay doubles from this, up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: u32 = 500;
const MAX_BACKOFF_MS: u32 = 10_000;

/// Messages loaded per page of history.
pub(crate) const HISTORY_PAGE: u32 = 50;

/// How often a reader says it is online.
const ONLINE_EVERY_SECS: u64 = 20;

/// Starts the room's tasks (in the browser; on the server effects do not run).
pub(crate) fn start(state: RoomState) {
    Effect::new(move |_| {
        spawn_local(clock_and_presence(state));
        spawn_local(follow_side_topic(state, SideTopic::Presence));
        spawn_local(follow_side_topic(state, SideTopic::Reactions));
    });
    Effect::new(move |_| {
        let (room, lang) = (state.room.get(), state.lang.get());
        spawn_local(follow_room(state, room, lang));
    });
}

/// A clock for presence, an "online" every [`ONLINE_EVERY_SECS`], and the
/// page's visibility (the title counts what arrived while hidden).
async fn clock_and_presence(state: RoomState) {
    loop {
        client::sleep_ms(1000).await;
        state.tick.update(|t| *t += 1);
        if !client::page_hidden() && state.unseen_hidden.get_untracked() > 0 {
            state.unseen_hidden.set(0);
        }
        if state.tick.get_untracked() % ONLINE_EVERY_SECS == 1
            && let Some(answer) = state.joined.get_untracked()
        {
            let _ = client::publish(&answer.presence_topic, &answer.token, json!({"kind": "online"})).await;
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum SideTopic {
    Presence,
    Reactions,
}

/// Follows the presence or reactions topic, re-subscribing when it drops.
async fn follow_side_topic(state: RoomState, which: SideTopic) {
    loop {
        if let Some(answer) = state.joined.get_untracked() {
            let topic = match which {
                SideTopic::Presence => answer.presence_topic.clone(),
                SideTopic::Reactions => answer.reactions_topic.clone(),
            };
            if !topic.is_empty() {
                let on_text = move |text: String| {
                    let Ok(Frame::Item { value, publisher: Some(who), .. }) = serde_json::from_str::<Frame>(&text)
                    else {
                        return;
                    };
                    match which {
                        SideTopic::Presence => {
                            let now = state.tick.get_untracked();
                            let typing = value["kind"] == "typing";
                            state.presence.update(|all| note_presence(all, who, now, typing));
                        }
                        SideTopic::Reactions => {
                            if let Ok(r) = serde_json::from_value::<Reaction>(value) {
                                state.reactions.update(|all| react(all, &r.target, &r.emoji, &who, r.on));
                            }
                        }
                    }
                };
                // Reactions replay from the start (the topic keeps the recent ones).
                let from = (which == SideTopic::Reactions).then_some(0);
                let _ = client::subscribe(&topic, &answer.token, from, || {}, on_text).await;
            }
        }
        client::sleep_ms(2000).await;
    }
}

/// Joins, loads history and follows the reading language's topic.
async fn follow_room(state: RoomState, room: String, lang: String) {
    let user = match client::me().await {
        Ok(user) => user,
        Err(e) if e.status == 401 => return client::navigate("/"),
        Err(e) => {
            state.problem.set(Some(e.text(texts(&state.lang.get_untracked()))));
            return state.connection.set(Connection::Failed);
        }
    };
    state.me.set(Some(user.user.clone()));
    state.viewer.set(Some(user));
    if let Ok(all) = client::rooms().await {
        state.info.set(all.iter().find(|r| r.name == room).cloned());
        state.rooms.set(all);
    }
    let last_seq = Rc::new(Cell::new(0_i64));
    let mut backoff = FIRST_BACKOFF_MS;
    loop {
        match client::join(&room, &lang).await {
            Ok(answer) => state.joined.set(Some(answer)),
            Err(e) if e.status == 401 => return client::navigate("/"),
            Err(e) if e.status == 403 || e.status == 404 => {
                state.problem.set(Some(e.text(texts(&state.lang.get_untracked()))));
                return state.connection.set(Connection::Failed);
            }
            Err(_) => {
                state.connection.set(Connection::Reconnecting);
                client::sleep_ms(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF_MS);
                continue;
            }
        }
        let Some(answer) = state.joined.get_untracked() else {
            continue;
        };
        // First connection: the latest page of history, then live from there.
        if state.oldest.get_untracked().is_none() {
            match client::history(&answer.subscribe_topic, &answer.token, None, HISTORY_PAGE).await {
                Ok(page) => {
                    state.has_more.set(page.len() == HISTORY_PAGE as usize);
                    state.oldest.set(Some(page.first().map_or(0, |(seq, _)| *seq)));
                    if let Some((seq, _)) = page.last() {
                        last_seq.set(*seq);
                    }
                    add_page(state, page);
                }
                Err(_) => state.oldest.set(Some(0)),
            }
            state.loaded.set(true);
        }
        let seen = last_seq.clone();
        let on_text = move |text: String| match serde_json::from_str::<Frame>(&text) {
            Ok(Frame::Item { seq, value, .. }) => {
                seen.set(seq);
                if let Ok(envelope) = serde_json::from_value::<Envelope>(value) {
                    arrived(state, envelope);
                }
            }
            Ok(Frame::Discontinuity { .. } | Frame::Heartbeat) | Err(_) => {}
        };
        let on_open = move || {
            state.connection.set(Connection::Live);
            state.problem.set(None);
        };
        let result =
            client::subscribe(&answer.subscribe_topic, &answer.token, Some(last_seq.get()), on_open, on_text).await;
        if result.is_ok() {
            backoff = FIRST_BACKOFF_MS;
        }
        state.connection.set(Connection::Reconnecting);
        client::sleep_ms(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF_MS);
    }
}

/// A live message: into the list, out of the pending ones, and counted or
/// announced when the page is hidden (a mention notifies).
fn arrived(state: RoomState, envelope: Envelope) {
    let source_seq = envelope.source_seq;
    state.pending.update(|p| p.retain(|m| m.seq != source_seq));
    let mine = state.me.with_untracked(|me| me.as_ref().is_some_and(|u| u.id == envelope.author.id));
    let my_name = state.me.with_untracked(|me| me.as_ref().map(|u| u.display_name.clone()).unwrap_or_default());
    let (title, body) = (envelope.author.name.clone(), envelope.text.clone());
    let mention = !mine && !envelope.deleted && mentions(&envelope.text, &my_name);
    let placed = state.messages.try_update(|all| upsert(all, envelope));
    if placed == Some(Placed::Appended) && !mine && client::page_hidden() {
        state.unseen_hidden.update(|n| *n += 1);
        if mention {
            let t = texts(&state.lang.get_untracked());
            client::notify(&format!("{title} {}", t.mentions_you), &body);
        }
    }
}

/// Adds a page of history (any position).
pub(crate) fn add_page(state: RoomState, page: Vec<(i64, serde_json::Value)>) {
    state.messages.update(|all| {
        for (_, value) in page {
            if let Ok(envelope) = serde_json::from_value::<Envelope>(value) {
                upsert(all, envelope);
            }
        }
    });
}

/// Loads the page of history before the oldest message shown.
pub(crate) fn load_older(state: RoomState) {
    let (Some(answer), Some(before)) = (state.joined.get_untracked(), state.oldest.get_untracked()) else { return };
    if state.loading_older.get_untracked() || !state.has_more.get_untracked() || before <= 1 {
        return;
    }
    state.loading_older.set(true);
    spawn_local(async move {
        if let Ok(page) = client::history(&answer.subscribe_topic, &answer.token, Some(before), HISTORY_PAGE).await {
            state.has_more.set(page.len() == HISTORY_PAGE as usize);
            if let Some((seq, _)) = page.first() {
                state.oldest.set(Some(*seq));
            }
            add_page(state, page);
        }
        state.loading_older.set(false);
    });
}
