//! Project scopes: the project a model query may touch, vouched for by an
//! access check ([`ProjectAccess`](super::access::ProjectAccess)) or by the
//! node acting on its own ([`SystemActor`]).

/// The project a piece of work may touch, vouched for by an access check or
/// by the system actor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectScope {
    project_id: String,
}

impl ProjectScope {
    /// The project's id.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The scope of a project whose access was just checked.
    pub(super) fn checked(project_id: &str) -> Self {
        Self {
            project_id: project_id.to_owned(),
        }
    }

    /// A scope whose access the caller vouches was checked another way: a
    /// GraphQL `Project` listed for a member or an admin, or reached through
    /// an object of it the caller may read. Nothing else should need it.
    pub fn vouched(project_id: &str) -> Self {
        Self {
            project_id: project_id.to_owned(),
        }
    }
}

/// The node acting on its own, without a caller: scheduled task fires, alert
/// evaluation, purges. Work done by it is named as such wherever it acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemActor {
    duty: &'static str,
}

impl SystemActor {
    /// The task scheduler, firing tasks on their schedule.
    pub const SCHEDULER: Self = Self { duty: "scheduler" };
    /// The monitor, evaluating alert rules.
    pub const MONITOR: Self = Self { duty: "monitor" };
    /// A key rotation, resealing stored secrets with the current key.
    pub const KEY_ROTATION: Self = Self {
        duty: "key rotation",
    };

    /// Which duty acts, e.g. `scheduler`.
    pub fn duty(&self) -> &'static str {
        self.duty
    }

    /// The scope of a project this duty works on (the row or id it found itself).
    pub fn scope(&self, project_id: &str) -> ProjectScope {
        ProjectScope {
            project_id: project_id.to_owned(),
        }
    }
}
