//! Scheduled tasks: cron schedules whose every fire is claimed once in the
//! database and creates a run (cases, server probes, or a purge of old data).

pub mod action;
pub mod events;
pub mod fire;
pub mod graphql;
pub mod model;
pub mod schedule;
pub mod scheduler;
pub mod service;
pub mod steps;
