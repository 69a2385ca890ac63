//! Webhook bodies and chat messages as the pipeline decodes them: any bytes
//! give a value or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_pipeline::envelope::{ChatMessage, Delivery};

fuzz_target!(|data: &[u8]| {
    if let Ok(delivery) = serde_json::from_slice::<Delivery>(data) {
        let _ = serde_json::from_value::<ChatMessage>(delivery.value.clone());
    }
    let _ = serde_json::from_slice::<ChatMessage>(data);
});
