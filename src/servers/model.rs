//! Server and credential rows and their queries.

use chrono::NaiveDateTime;
use diesel::{AsChangeset, Insertable, Queryable, Selectable};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};

use crate::db::schema::{credentials, servers};
use crate::db::stored::{unreadable_row, Json};
use crate::db::{Conn, DbResult};
use crate::projects::scope::ProjectScope;
use crate::{db_run, stored_enum};

use super::probe::ServerKind;

/// A server's health as the last probe saw it.
#[derive(
    async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServerStatus {
    /// The last probe (or agent report) succeeded.
    Up,
    /// The last probe failed.
    Down,
    /// Not probed yet, or not probed at all (agents report metrics only).
    Unknown,
}

stored_enum!(ServerStatus {
    Up = "UP",
    Down = "DOWN",
    Unknown = "UNKNOWN",
});

stored_enum!(ServerKind {
    Host = "HOST",
    Http = "HTTP",
    Tcp = "TCP",
    Postgres = "POSTGRES",
    Mysql = "MYSQL",
    Redis = "REDIS",
});

/// A stored server; `tags` is a JSON array of strings.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = servers)]
pub struct ServerRow {
    pub id: String,
    pub project_id: String,
    pub kind: ServerKind,
    pub name: String,
    pub tags: Json<Vec<String>>,
    pub address: String,
    pub database_name: Option<String>,
    pub credential_id: Option<String>,
    pub probe_interval_secs: i32,
    pub status: ServerStatus,
    pub status_changed_at: Option<NaiveDateTime>,
    pub last_checked_at: Option<NaiveDateTime>,
    pub node_name: Option<String>,
    pub agent_token_hash: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Changes to a server; `None` leaves a column as it is.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = servers)]
pub struct ServerChanges {
    pub name: Option<String>,
    pub tags: Option<Json<Vec<String>>>,
    pub address: Option<String>,
    pub database_name: Option<Option<String>>,
    pub credential_id: Option<Option<String>>,
    pub probe_interval_secs: Option<i32>,
    /// `Some(None)` makes the server due for a probe at once.
    pub next_probe_ms: Option<Option<i64>>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Which servers of a project to list.
#[derive(Debug, Clone, Default)]
pub struct ServerFilter {
    /// Only this kind.
    pub kind: Option<ServerKind>,
    /// Only servers carrying this tag.
    pub tag: Option<String>,
    /// Only servers in this status.
    pub status: Option<ServerStatus>,
}

crate::project_owned!(ServerRow, "server");

crate::project_owned!(CredentialRow, "credential");

/// Database methods.
impl ServerRow {
    /// Stores a new server.
    pub async fn insert(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(servers::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The server `id`.
    pub async fn find(conn: &mut Conn, id: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            servers::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()
                .map_err(|error| unreadable_row(error, "servers", id))
        })
    }

    /// The server whose agent token hashes to `token_hash`.
    pub async fn find_by_agent_token_hash(
        conn: &mut Conn,
        token_hash: &str,
    ) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(servers::table
                .filter(servers::agent_token_hash.eq(token_hash))
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// The project's servers matching `filter`, by id (filtering tags and status in SQL where portable).
    pub async fn list(
        conn: &mut Conn,
        scope: &ProjectScope,
        filter: &ServerFilter,
    ) -> DbResult<Vec<Self>> {
        let rows: Vec<Self> = db_run!(conn, |conn| {
            let mut query = servers::table
                .filter(servers::project_id.eq(scope.project_id()))
                .select(Self::as_select())
                .into_boxed();
            if let Some(kind) = filter.kind {
                query = query.filter(servers::kind.eq(kind));
            }
            if let Some(status) = filter.status {
                query = query.filter(servers::status.eq(status));
            }
            Ok::<_, crate::db::DbError>(query.order(servers::id.asc()).load(conn).await?)
        })?;
        Ok(match &filter.tag {
            Some(tag) => rows
                .into_iter()
                .filter(|row| row.tags.contains(tag))
                .collect(),
            None => rows,
        })
    }

    /// The servers among `ids` that exist.
    pub async fn find_many(
        conn: &mut Conn,
        ids: impl IntoIterator<Item = &str>,
    ) -> DbResult<Vec<Self>> {
        let ids: Vec<&str> = ids.into_iter().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        db_run!(conn, |conn| {
            Ok(servers::table
                .filter(servers::id.eq_any(&ids))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// This node's built-in HOST servers, one per project.
    pub async fn list_for_node(conn: &mut Conn, node_name: &str) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(servers::table
                .filter(servers::node_name.eq(node_name))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Applies `changes` to a server of the project in scope; returns the row as it is now.
    pub async fn update(
        conn: &mut Conn,
        scope: &ProjectScope,
        id: &str,
        changes: &ServerChanges,
    ) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(diesel::update(
                servers::table
                    .find(id)
                    .filter(servers::project_id.eq(scope.project_id())),
            )
            .set(changes)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
            .optional()?)
        })
    }

    /// Sets or clears the agent token hash of a server of the project in scope;
    /// returns the row as it is now.
    pub async fn set_agent_token_hash(
        conn: &mut Conn,
        scope: &ProjectScope,
        id: &str,
        hash: Option<String>,
    ) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(diesel::update(
                servers::table
                    .find(id)
                    .filter(servers::project_id.eq(scope.project_id())),
            )
            .set((
                servers::agent_token_hash.eq(hash),
                servers::updated_at.eq(crate::db::now()),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
            .optional()?)
        })
    }

    /// Records a check; when `status` differs from the stored one, also the time of the change.
    /// Returns true when the status changed.
    pub async fn record_check(
        conn: &mut Conn,
        id: &str,
        status: ServerStatus,
        at: NaiveDateTime,
    ) -> DbResult<bool> {
        db_run!(conn, |conn| {
            let changed =
                diesel::update(servers::table.find(id).filter(servers::status.ne(status)))
                    .set((
                        servers::status.eq(status),
                        servers::status_changed_at.eq(at),
                        servers::last_checked_at.eq(at),
                    ))
                    .execute(conn)
                    .await?
                    > 0;
            if !changed {
                diesel::update(servers::table.find(id))
                    .set(servers::last_checked_at.eq(at))
                    .execute(conn)
                    .await?;
            }
            Ok(changed)
        })
    }

    /// Deletes a server of the project in scope (its samples, rules and alerts go with it).
    pub async fn delete(conn: &mut Conn, scope: &ProjectScope, id: &str) -> DbResult<bool> {
        db_run!(conn, |conn| {
            Ok(diesel::delete(
                servers::table
                    .find(id)
                    .filter(servers::project_id.eq(scope.project_id())),
            )
            .execute(conn)
            .await?
                > 0)
        })
    }
}

/// A stored credential: the secret is sealed with the node's credential key.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credentials)]
pub struct CredentialRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub username: Option<String>,
    pub sealed_secret: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Changes to a credential.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = credentials)]
pub struct CredentialChanges {
    pub name: Option<String>,
    pub username: Option<Option<String>>,
    pub sealed_secret: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Database methods.
impl CredentialRow {
    /// Stores a new credential.
    pub async fn insert(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(credentials::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The credential `id`.
    pub async fn find(conn: &mut Conn, id: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(credentials::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// The project's credentials by name.
    pub async fn list(conn: &mut Conn, scope: &ProjectScope) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(credentials::table
                .filter(credentials::project_id.eq(scope.project_id()))
                .order(credentials::name.asc())
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Applies `changes` to a credential of the project in scope.
    pub async fn update(
        conn: &mut Conn,
        scope: &ProjectScope,
        id: &str,
        changes: &CredentialChanges,
    ) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(diesel::update(
                credentials::table
                    .find(id)
                    .filter(credentials::project_id.eq(scope.project_id())),
            )
            .set(changes)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
            .optional()?)
        })
    }

    /// Every credential, of every project (for key rotation).
    pub async fn list_all(conn: &mut Conn) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(credentials::table
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Deletes a credential of the project in scope (servers using it lose the reference).
    pub async fn delete(conn: &mut Conn, scope: &ProjectScope, id: &str) -> DbResult<bool> {
        db_run!(conn, |conn| {
            Ok(diesel::delete(
                credentials::table
                    .find(id)
                    .filter(credentials::project_id.eq(scope.project_id())),
            )
            .execute(conn)
            .await?
                > 0)
        })
    }
}

/// Ids of projects that have no built-in server of `node_name` yet.
pub async fn projects_without_node_server(
    conn: &mut Conn,
    node_name: &str,
) -> DbResult<Vec<String>> {
    use crate::db::schema::projects;
    db_run!(conn, |conn| {
        Ok(projects::table
            .filter(diesel::dsl::not(diesel::dsl::exists(
                servers::table
                    .filter(servers::project_id.eq(projects::id))
                    .filter(servers::node_name.eq(node_name)),
            )))
            .select(projects::id)
            .load(conn)
            .await?)
    })
}
