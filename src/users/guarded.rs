//! Account writes whose rule depends on the other accounts: the first account becomes
//! an admin, and the last active admin stays one.
//!
//! Each check and its write form one serialised step, a transaction that other
//! writers cannot interleave with ([`Conn::transaction`]: `BEGIN IMMEDIATE` on
//! SQLite; row or advisory locks taken by the body on PostgreSQL), so requests
//! arriving together cannot all pass the same check: eight first registrations
//! make one admin, and two admins demoting each other leave one. Called inside
//! the caller's transaction, the step is a savepoint of it and its locks last
//! until that transaction ends.

use diesel::sql_types::Text;
use diesel::{OptionalExtension, QueryDsl, QueryableByName, SelectableHelper};

use crate::db::schema::users;
use crate::db::{Backend, Conn, DbResult};
use crate::db_run;

use super::model::{Role, UserChanges, UserRow};

/// Serialises registrations on PostgreSQL, where an empty table has no row to lock;
/// released when the transaction ends.
const LOCK_REGISTRATIONS_POSTGRES: &str = "SELECT pg_advisory_xact_lock(7526405628497262930)";

/// The active admins, their rows locked until the transaction ends (PostgreSQL).
const LOCK_ACTIVE_ADMINS_POSTGRES: &str =
    "SELECT id FROM users WHERE role = 'ADMIN' AND active ORDER BY id FOR UPDATE";

/// The active admins (SQLite, where the immediate transaction already excludes other writers).
const ACTIVE_ADMINS_SQLITE: &str =
    "SELECT id FROM users WHERE role = 'ADMIN' AND active ORDER BY id";

/// One active admin's id.
#[derive(QueryableByName)]
struct AdminId {
    #[diesel(sql_type = Text)]
    id: String,
}

/// What a write under the last-admin rule did.
#[derive(Debug)]
pub enum AdminRuleOutcome<T> {
    /// Written.
    Done(T),
    /// No account has that id.
    NotFound,
    /// It would leave no active admin; nothing was written.
    LastAdmin,
    /// The acting admin lost that role in the meantime; nothing was written.
    ActorNoLongerAdmin,
}

/// The active admins' ids, locked against concurrent changes for the transaction.
macro_rules! lock_active_admins {
    ($conn:expr, $backend:expr) => {{
        let sql = match $backend {
            Backend::Postgres => LOCK_ACTIVE_ADMINS_POSTGRES,
            Backend::Sqlite => ACTIVE_ADMINS_SQLITE,
        };
        diesel::sql_query(sql)
            .load::<AdminId>($conn)
            .await?
            .into_iter()
            .map(|admin| admin.id)
            .collect::<Vec<_>>()
    }};
}

/// Database methods.
impl UserRow {
    /// Stores a self-registered account: `ADMIN` when it is the first account ever,
    /// `USER` otherwise. Returns the stored row.
    pub async fn insert_registered(&self, conn: &mut Conn) -> DbResult<Self> {
        let backend = conn.backend();
        conn.transaction(async |conn| {
            db_run!(conn, |conn| {
                if backend == Backend::Postgres {
                    diesel::sql_query(LOCK_REGISTRATIONS_POSTGRES)
                        .execute(conn)
                        .await?;
                }
                let accounts: i64 = users::table.count().get_result(conn).await?;
                let role = if accounts == 0 {
                    Role::Admin
                } else {
                    Role::User
                };
                let row = Self {
                    role,
                    ..self.clone()
                };
                diesel::insert_into(users::table)
                    .values(&row)
                    .execute(conn)
                    .await?;
                Ok(row)
            })
        })
        .await
    }

    /// Applies `changes` to the account `id` for the admin `actor_id`, unless that leaves
    /// no active admin. Returns the account before and after.
    pub async fn update_keeping_an_admin(
        conn: &mut Conn,
        actor_id: &str,
        id: &str,
        changes: &UserChanges,
    ) -> DbResult<AdminRuleOutcome<(Self, Self)>> {
        let backend = conn.backend();
        conn.transaction(async |conn| {
            db_run!(conn, |conn| {
                let admins = lock_active_admins!(conn, backend);
                let Some(before) = users::table
                    .find(id)
                    .select(Self::as_select())
                    .first(conn)
                    .await
                    .optional()?
                else {
                    return Ok(AdminRuleOutcome::NotFound);
                };
                if let Some(refusal) =
                    admin_rule(&admins, actor_id, &before, takes_admin_away(changes))
                {
                    return Ok(refusal);
                }
                let after = diesel::update(users::table.find(id))
                    .set(changes)
                    .returning(Self::as_returning())
                    .get_result(conn)
                    .await?;
                Ok(AdminRuleOutcome::Done((before, after)))
            })
        })
        .await
    }

    /// Deletes the account `id` for the admin `actor_id`, unless it is the last active
    /// admin. Returns the deleted account.
    pub async fn delete_keeping_an_admin(
        conn: &mut Conn,
        actor_id: &str,
        id: &str,
    ) -> DbResult<AdminRuleOutcome<Self>> {
        let backend = conn.backend();
        conn.transaction(async |conn| {
            db_run!(conn, |conn| {
                let admins = lock_active_admins!(conn, backend);
                let Some(target) = users::table
                    .find(id)
                    .select(Self::as_select())
                    .first(conn)
                    .await
                    .optional()?
                else {
                    return Ok(AdminRuleOutcome::NotFound);
                };
                if let Some(refusal) = admin_rule(&admins, actor_id, &target, true) {
                    return Ok(refusal);
                }
                diesel::delete(users::table.find(id)).execute(conn).await?;
                Ok(AdminRuleOutcome::Done(target))
            })
        })
        .await
    }
}

/// True when `changes` demote or deactivate the account they apply to.
fn takes_admin_away(changes: &UserChanges) -> bool {
    changes.role == Some(Role::User) || changes.active == Some(false)
}

/// The refusal a write by `actor_id` on `target` earns, given the active admins' ids.
///
/// The last-admin rule is checked first: of two admins demoting each other, the one
/// who comes second is told that the other is the last admin.
fn admin_rule<T>(
    active_admins: &[String],
    actor_id: &str,
    target: &UserRow,
    target_loses_admin: bool,
) -> Option<AdminRuleOutcome<T>> {
    let others_remain = active_admins.iter().any(|admin| *admin != target.id);
    if target_loses_admin && target.is_active_admin() && !others_remain {
        return Some(AdminRuleOutcome::LastAdmin);
    }
    if !active_admins.iter().any(|admin| admin == actor_id) {
        return Some(AdminRuleOutcome::ActorNoLongerAdmin);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(id: &str) -> UserRow {
        UserRow {
            id: id.to_owned(),
            username: id.to_owned(),
            email: format!("{id}@example.com"),
            password_hash: String::new(),
            role: Role::Admin,
            active: true,
            created_at: crate::db::now(),
            updated_at: crate::db::now(),
            last_login_at: None,
        }
    }

    fn refusal(admins: &[&str], actor: &str, target: &str, loses: bool) -> &'static str {
        let admins: Vec<String> = admins.iter().map(|id| (*id).to_owned()).collect();
        match admin_rule::<()>(&admins, actor, &admin(target), loses) {
            None => "allowed",
            Some(AdminRuleOutcome::LastAdmin) => "last admin",
            Some(AdminRuleOutcome::ActorNoLongerAdmin) => "actor not admin",
            Some(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn the_last_admin_stays_and_former_admins_cannot_act() {
        assert_eq!(refusal(&["a", "b"], "a", "b", true), "allowed");
        assert_eq!(refusal(&["b"], "a", "b", true), "last admin");
        assert_eq!(refusal(&["a"], "a", "a", true), "last admin");
        assert_eq!(refusal(&["b"], "a", "b", false), "actor not admin");
        assert_eq!(refusal(&["b", "c"], "a", "c", true), "actor not admin");
        assert_eq!(refusal(&["a"], "a", "a", false), "allowed");
    }

    #[test]
    fn demoting_and_deactivating_take_admin_away() {
        let demote = UserChanges {
            role: Some(Role::User),
            ..UserChanges::default()
        };
        let deactivate = UserChanges {
            active: Some(false),
            ..UserChanges::default()
        };
        let rename = UserChanges {
            username: Some("x".into()),
            ..UserChanges::default()
        };
        assert!(takes_admin_away(&demote));
        assert!(takes_admin_away(&deactivate));
        assert!(!takes_admin_away(&rename));
    }
}
