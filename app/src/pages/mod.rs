//! One module per route.

pub mod callback;
pub mod files;
pub mod guest_request;
pub mod landing;
pub mod links;
pub mod not_found;
pub mod requests;
