//! Test cases of four kinds (HTTP, PERF, SCRIPT, UI), each with a typed spec.

pub mod graphql;
pub mod model;
pub mod service;
pub mod spec;
pub mod validate;
