//! Runs: executing a project's cases, with live events, control and reports.

pub mod http_check;

pub mod batch;
pub mod driver;
pub mod events;
pub mod executor;
pub mod feed;
pub mod graphql;
pub mod grouped;
pub mod hub;
pub mod model;
pub mod report;
pub mod reseal;
pub mod service;
pub mod state;
pub mod steps;
#[cfg(test)]
#[path = "../../tests/api/support/target.rs"]
mod target;
