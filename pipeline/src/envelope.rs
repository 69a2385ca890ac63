//! What a chat client publishes, checked as the pipeline reads it; the
//! delivery and envelope types are the shared wire types of `parley-api`.

use serde::{Deserialize, Serialize};

pub use parley_api::{Delivery, Envelope, MessageOp, Original, Publisher};

/// What a chat client publishes to `{room}-publish`: a message, or an edit
/// or deletion of an earlier one of its own. The server checks it with
/// [`ChatMessage::parse`] before acknowledging a publish, and the pipeline
/// reads it with the same function, so nothing is acknowledged that the
/// pipeline would refuse.
///
/// Fields it does not know are ignored (a client may add its own, such as a
/// local id); nothing of them reaches readers, whose envelopes the pipeline
/// builds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The text (empty for a deletion).
    #[serde(default)]
    pub text: String,
    /// The sender's own language: a prior for detecting short messages.
    #[serde(default)]
    pub lang: Option<String>,
    /// `edit` or `delete`; absent for a new message.
    #[serde(default)]
    pub op: Option<MessageOp>,
    /// The `seq`, on the publish topic, of the message edited or deleted.
    #[serde(default)]
    pub target_seq: Option<i64>,
}

/// The longest chat text, in characters (a publish is at most 16 KiB anyway).
pub const MAX_TEXT_CHARS: usize = 4000;

impl ChatMessage {
    /// Reads a value published to a room's publish topic, with every rule
    /// the pipeline relies on: a JSON object whose known fields have their types, non-empty
    /// text (none for a deletion), a supported `lang` when given, and a
    /// `target_seq` exactly when it edits or deletes.
    ///
    /// # Errors
    /// A message, for the client, saying what is wrong.
    pub fn parse(value: &serde_json::Value) -> Result<Self, String> {
        if !value.is_object() {
            return Err(
                r#"a chat message is a JSON object such as {"text": "hello"} (send it as application/json)"#.into()
            );
        }
        let message = Self::deserialize(value).map_err(|e| format!("not a chat message: {e}"))?;
        message.check()?;
        Ok(message)
    }

    fn check(&self) -> Result<(), String> {
        match (self.op, self.target_seq) {
            (None, Some(_)) => return Err("target_seq goes only with \"op\": \"edit\" or \"delete\"".into()),
            (Some(op), None) => return Err(format!("{} needs target_seq", op.as_str())),
            (Some(_), Some(seq)) if seq < 1 => return Err("target_seq must be 1 or more".into()),
            _ => {}
        }
        if self.op == Some(MessageOp::Delete) {
            if !self.text.is_empty() {
                return Err("a delete carries no text".into());
            }
        } else if self.text.trim().is_empty() {
            return Err("text must not be empty".into());
        }
        if self.text.chars().count() > MAX_TEXT_CHARS {
            return Err(format!("text is longer than {MAX_TEXT_CHARS} characters"));
        }
        if let Some(lang) = &self.lang
            && crate::detect::whatlang_lang(lang).is_none()
        {
            return Err("lang must be a supported ISO 639-1 code such as \"en\"".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn chat_messages_are_checked_as_the_pipeline_reads_them() {
        for good in [
            json!({"text": "hello"}),
            json!({"text": "olá", "lang": "pt"}),
            json!({"text": "hi", "lang": null}),
            json!({"op": "edit", "target_seq": 3, "text": "hello again", "lang": "en"}),
            json!({"op": "delete", "target_seq": 3}),
            json!({"text": "x".repeat(MAX_TEXT_CHARS)}),
            json!({"text": "hi", "client_id": "c1"}),
        ] {
            assert!(ChatMessage::parse(&good).is_ok(), "{good}");
        }
        for bad in [
            json!("hello"),
            json!(42),
            json!(null),
            json!(["hello"]),
            json!({}),
            json!({"text": ""}),
            json!({"text": "  \n "}),
            json!({"text": 5}),
            json!({"text": "hi", "lang": "klingon"}),
            json!({"text": "hi", "lang": "EN"}),
            json!({"text": "hi", "lang": 7}),
            json!({"text": "hi", "target_seq": 2}),
            json!({"op": "edit", "text": "hi"}),
            json!({"op": "edit", "target_seq": 0, "text": "hi"}),
            json!({"op": "edit", "target_seq": 2, "text": ""}),
            json!({"op": "delete", "target_seq": 2, "text": "why"}),
            json!({"op": "shout", "target_seq": 2, "text": "hi"}),
            json!({"text": "x".repeat(MAX_TEXT_CHARS + 1)}),
        ] {
            assert!(ChatMessage::parse(&bad).is_err(), "{bad}");
        }
    }
}
