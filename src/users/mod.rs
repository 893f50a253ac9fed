//! Accounts: rows, rules and GraphQL.

pub mod graphql;
pub mod guarded;
pub mod model;
pub mod service;
pub mod validate;
