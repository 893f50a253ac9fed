//! Test cases of four kinds (HTTP, PERF, SCRIPT, UI), each with a typed spec.

pub mod export;
pub mod graphql;
pub mod import;
pub mod model;
pub mod openapi;
pub mod service;
pub mod spec;
pub mod transfer;
pub mod validate;
