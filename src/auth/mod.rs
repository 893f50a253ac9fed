//! Who is calling: tokens, passwords, sessions and the checks built on them.
//!
//! A resolver never reads a token itself: it asks the request's
//! [`session::Session`] for a [`Viewer`] (an authenticated, active user), and
//! a viewer hands out an [`AdminViewer`] only to admins, so admin-only code
//! cannot be reached without the check.
//!
//! What the `App` holds (the session cache, password hashing, rate limits,
//! the token issuer) lives in modules that do not use the `App`; the
//! functions that take one are in `session`, `service` and `throttle`.

pub mod argon2id;
pub mod cache;
pub mod families;
pub mod graphql;
pub mod password;
pub mod rate_limit;
pub mod service;
pub mod session;
pub mod throttle;
pub mod tokens;
pub mod viewer;

pub use viewer::{AdminViewer, Viewer};
