//! Projects: every case, environment and run belongs to one; members hold roles.

pub mod access;
pub mod graphql;
pub mod model;
pub mod scope;
pub mod service;
