//! Alert rules, their evaluation (PENDING → FIRING → RESOLVED) and silences.

pub mod evaluate;
pub mod graphql;
pub mod model;
pub mod service;
pub mod state;
