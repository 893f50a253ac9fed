//! The stored states of rules and alerts, and the topic alert changes go out on.

use crate::stored_enum;

/// The event topic carrying a project's alert transitions.
pub fn alerts_topic(project_id: &str) -> String {
    format!("projects.{project_id}.alerts")
}

/// How a sample is compared with the threshold.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Value greater than the threshold.
    Gt,
    /// Value greater than or equal to the threshold.
    Ge,
    /// Value less than the threshold.
    Lt,
    /// Value less than or equal to the threshold.
    Le,
}

stored_enum!(Comparison {
    Gt = "GT",
    Ge = "GE",
    Lt = "LT",
    Le = "LE",
});

impl Comparison {
    /// Whether `value` breaches `threshold`.
    pub fn breached(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Gt => value > threshold,
            Self::Ge => value >= threshold,
            Self::Lt => value < threshold,
            Self::Le => value <= threshold,
        }
    }
}

/// How serious an alert is.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// For information.
    Info,
    /// Needs attention soon.
    Warning,
    /// Needs attention now.
    Critical,
}

stored_enum!(Severity {
    Info = "INFO",
    Warning = "WARNING",
    Critical = "CRITICAL",
});

/// Where an alert stands.
#[derive(
    async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertState {
    /// The condition holds, not yet for the rule's `for` duration.
    Pending,
    /// The condition has held for the `for` duration.
    Firing,
    /// The condition no longer holds.
    Resolved,
}

stored_enum!(AlertState {
    Pending = "PENDING",
    Firing = "FIRING",
    Resolved = "RESOLVED",
});
