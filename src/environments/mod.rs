//! Environments: named sets of variables per project; secret values are write-only.

pub mod graphql;
pub mod model;
pub mod service;
