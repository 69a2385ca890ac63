//! # Parley's wire types
//!
//! The JSON shapes of API.md that more than one part of Parley reads or
//! writes: the server serves them, the pipeline reads rooms and writes chat
//! envelopes, the UI reads both. One definition each, so the three cannot
//! drift apart. Serde only (and, with the `utoipa` feature, OpenAPI schemas),
//! so the UI builds it for wasm.
//!
//! Readers are lenient where API.md lets a field be absent (`#[serde(default)]`)
//! and ignore fields they do not know, so an older client reads a newer server.

mod message;
mod room;
mod user;

pub use message::{Delivery, Envelope, MessageOp, Moderation, ModerationAction, Original, Publisher};
pub use room::{Coverage, ModerationPolicy, Room};
pub use user::{User, UserRole};

/// A value that is not one of an enum's names, for `FromStr`/`TryFrom` errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// What was being named (`role`, `moderation`, …).
    pub what: &'static str,
    pub got: String,
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is not a {}", self.got, self.what)
    }
}

impl std::error::Error for UnknownName {}

/// `FromStr`, `TryFrom<String>` and `as_str` for a fieldless enum whose
/// serde names are the given strings, so the database's text columns and
/// the JSON agree.
macro_rules! named_enum {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err($crate::UnknownName { what: $what, got: s.to_owned() }),
                }
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $crate::UnknownName;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
    };
}
pub(crate) use named_enum;
