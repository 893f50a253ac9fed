//! Tidewatch: one GraphQL control plane for software testing and operations.
//!
//! Domains (`users`, `projects`, `environments`, `cases`, `audit`, `notifications`,
//! `servers`, `monitoring`, `runs`, `tasks`) each hold their rows and queries,
//! their rules and their GraphQL types; `db`, `auth`, `events`, `graphql` and
//! `http` are the shared plumbing, and `schema` merges the domains' GraphQL
//! roots. One [`App`] is built in `main` and passed down.

// The merged schema roots nest deeper than the default limit allows.
#![recursion_limit = "256"]

pub mod app;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod config;
pub mod db;
pub mod egress;
pub mod environments;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod monitoring;
pub mod notifications;
pub mod observability;
pub mod projects;
pub mod rest;
pub mod runs;
pub mod schema;
pub mod secrets;
pub mod servers;
pub mod tasks;
pub mod users;

pub use app::App;
pub use config::Config;

#[cfg(test)]
mod architecture_test;
