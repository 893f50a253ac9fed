//! Monitoring: metric samples in tiers, this node's host metrics, periodic
//! probes, alert rules and alerts, and the project dashboard.
//!
//! Samples arrive three ways (the host sampler, probes, agents) and all go
//! through [`ingest::ingest`], which stores raw rows and updates the 1-minute
//! and 1-hour rollups in the same transaction, then publishes the batch.

pub mod alerts;
pub mod claims;
pub mod dashboard;
pub mod graphql;
pub mod host_metrics;
pub mod ingest;
pub mod monitor;
pub mod sample_writes;
pub mod samples;
