//! Runs: executing a project's cases, with live events, control and reports.

pub mod http_check;

#[cfg(test)]
#[path = "../../tests/api/support/target.rs"]
mod target;
