//! Servers of a project (hosts, HTTP endpoints, TCP ports, databases), their
//! credentials and connection tests.

pub mod credentials;
pub mod graphql;
pub mod model;
pub mod probe;
pub mod service;
