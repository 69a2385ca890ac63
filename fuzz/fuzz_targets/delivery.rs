//! Webhook bodies and chat messages as the server checks them and the
//! pipeline decodes them: any bytes give a value or an error, never a panic,
//! and a message that passes the check reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_pipeline::envelope::{ChatMessage, Delivery};

fuzz_target!(|data: &[u8]| {
    if let Ok(delivery) = serde_json::from_slice::<Delivery>(data) {
        let _ = ChatMessage::parse(&delivery.value);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(message) = ChatMessage::parse(&value)
    {
        let again = serde_json::to_value(&message).expect("a chat message serializes");
        assert!(ChatMessage::parse(&again).is_ok(), "a checked message stays valid: {again}");
    }
});
