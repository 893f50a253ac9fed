//! Integration tests: one binary, a real node per test (see `support`).

mod support;

mod audit;
mod auth;
mod browser;
mod captures;
mod cases;
mod command_line;
mod dashboard;
mod egress;
mod environments;
mod events;
mod http_protocol;
mod limits;
mod loaders;
mod monitor_scale;
mod monitoring;
mod node_metrics;
mod notifications;
mod probes;
mod projects;
mod redis_outage;
mod run_events;
mod run_events_load;
mod runs;
mod schema;
mod servers;
mod session_cache;
mod storage;
mod tasks;
mod throttling;
mod transfer;
mod users;
