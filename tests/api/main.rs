//! Integration tests: one binary, a real node per test (see `support`).

mod support;

mod auth;
mod events;
mod limits;
mod notifications;
mod probes;
mod schema;
mod users;
