//! The app's pages.

pub mod landing;
pub mod room;
