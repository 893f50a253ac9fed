//! Integration tests: one binary, a real node per test (see `support`).

mod support;

mod audit;
mod auth;
mod cases;
mod dashboard;
mod environments;
mod events;
mod limits;
mod monitor_scale;
mod monitoring;
mod notifications;
mod probes;
mod projects;
mod runs;
mod schema;
mod servers;
mod tasks;
mod throttling;
mod transfer;
mod users;
