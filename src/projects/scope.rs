//! What project-scoped model queries take: a [`ProjectScope`], which only an
//! access check ([`super::access::ProjectAccess`]) or the node's own
//! [`SystemActor`] hands out, and the [`ProjectOwned`] rows found through one.
//!
//! Apart from the check, which reads the caller's membership through the
//! `App`, so that models depend on the scope without depending on the `App`.

use std::future::Future;

use crate::db::{Conn, DbResult};

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

    /// The scope of a project whose access was just checked (by
    /// [`ProjectAccess`](super::access::ProjectAccess)) or a system actor's.
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
        ProjectScope::checked(project_id)
    }
}

/// A row that belongs to one project, found by id through
/// [`ProjectAccess::for_object`](super::access::ProjectAccess::for_object).
pub trait ProjectOwned: Sized + Send {
    /// The object's name as `NOT_FOUND` says it (`case`, `task` …).
    const NAME: &'static str;

    /// The row `id`, if it exists.
    fn find(conn: &mut Conn, id: &str) -> impl Future<Output = DbResult<Option<Self>>> + Send;

    /// The project it belongs to.
    fn project_id(&self) -> &str;
}

/// Implements [`ProjectOwned`] for a row with a `project_id` column and an
/// inherent `find(conn, id)`: `project_owned!(CaseRow, "case");`.
#[macro_export]
macro_rules! project_owned {
    ($row:ty, $name:literal) => {
        impl $crate::projects::scope::ProjectOwned for $row {
            const NAME: &'static str = $name;

            async fn find(
                conn: &mut $crate::db::Conn,
                id: &str,
            ) -> $crate::db::DbResult<Option<Self>> {
                <$row>::find(conn, id).await
            }

            fn project_id(&self) -> &str {
                &self.project_id
            }
        }
    };
}
