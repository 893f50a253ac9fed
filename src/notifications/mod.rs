//! Notifications: stored messages for one user, also streamed live.

pub mod graphql;
pub mod model;
pub mod service;

pub use model::NotificationKind;
