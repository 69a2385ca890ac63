//! The app's pages.

pub mod admin;
pub mod landing;
pub mod room;
