//! Connections: one checked out of the pool, transactions on it, and the
//! [`db_run!`](crate::db_run) macro that runs one query body on either backend.
//!
//! Model functions take `conn: &mut Conn`; a service checks one out (or opens
//! a transaction with [`Database::transaction`]) and passes it down, so every
//! statement of one mutation runs on one connection and commits together.

use std::future::Future;

use diesel::result::Error as QueryError;
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection, AsyncPgConnection, TransactionManager};

use super::{Backend, Database, DbError, DbResult, SqliteConn};

/// A connection of the backend in use, checked out of the pool until dropped.
pub struct Conn(Checkout);

enum Checkout {
    Sqlite(Object<SqliteConn>),
    // Boxed: a PostgreSQL connection is several times the size of a SQLite one,
    // and every future holding a `Conn` would carry it.
    Postgres(Box<Object<AsyncPgConnection>>),
}

/// The connection of one backend, for one query body ([`db_run!`](crate::db_run)).
pub enum BackendConn<'a> {
    /// The embedded default.
    Sqlite(&'a mut SqliteConn),
    /// For several nodes.
    Postgres(&'a mut AsyncPgConnection),
}

/// A transaction body: an async closure over the connection whose future is `Send`.
///
/// `AsyncFnOnce` alone cannot say that the future it returns is `Send`, which
/// every resolver needs; this names that future (as diesel-async does
/// internally) and is implemented for every such closure.
pub trait TransactionBody<'r, R, E>:
    AsyncFnOnce(&'r mut Conn) -> Result<R, E>
    + FnOnce(&'r mut Conn) -> <Self as TransactionBody<'r, R, E>>::Fut
{
    /// The body's future.
    type Fut: Future<Output = Result<R, E>> + Send;
}

impl<'r, F, Fut, R, E> TransactionBody<'r, R, E> for F
where
    F: AsyncFnOnce(&'r mut Conn) -> Result<R, E> + FnOnce(&'r mut Conn) -> Fut,
    Fut: Future<Output = Result<R, E>> + Send,
{
    type Fut = Fut;
}

impl Conn {
    pub(super) fn sqlite(pooled: Object<SqliteConn>) -> Self {
        Self(Checkout::Sqlite(pooled))
    }

    pub(super) fn postgres(pooled: Object<AsyncPgConnection>) -> Self {
        Self(Checkout::Postgres(Box::new(pooled)))
    }

    /// The backend this connection talks to.
    pub fn backend(&self) -> Backend {
        match &self.0 {
            Checkout::Sqlite(_) => Backend::Sqlite,
            Checkout::Postgres(_) => Backend::Postgres,
        }
    }

    /// The backend's own connection, for one query body.
    pub fn backend_conn(&mut self) -> BackendConn<'_> {
        match &mut self.0 {
            Checkout::Sqlite(conn) => BackendConn::Sqlite(conn),
            Checkout::Postgres(conn) => BackendConn::Postgres(conn),
        }
    }

    /// Runs `body` in a transaction: committed when it returns `Ok`, rolled back
    /// otherwise. Inside another transaction it is a savepoint.
    ///
    /// On SQLite the outermost transaction starts with `BEGIN IMMEDIATE`: it
    /// takes the write lock at once (waiting for it under the busy timeout),
    /// so a transaction never has to upgrade a read lock, which SQLite refuses
    /// with `SQLITE_BUSY` when another writer got there first.
    pub async fn transaction<R, E, F>(&mut self, body: F) -> Result<R, E>
    where
        for<'r> F: AsyncFnOnce(&'r mut Conn) -> Result<R, E> + TransactionBody<'r, R, E> + Send,
        R: Send,
        E: From<DbError> + Send,
    {
        self.begin().await.map_err(|e| E::from(e.into()))?;
        match body(&mut *self).await {
            Ok(value) => {
                self.commit().await.map_err(|e| E::from(e.into()))?;
                Ok(value)
            }
            Err(error) => match self.rollback().await {
                // A broken transaction manager is what the body's error left behind.
                Ok(()) | Err(QueryError::BrokenTransactionManager) => Err(error),
                Err(rollback_error) => Err(E::from(rollback_error.into())),
            },
        }
    }

    async fn begin(&mut self) -> Result<(), QueryError> {
        match self.backend_conn() {
            BackendConn::Sqlite(conn) => {
                conn.spawn_blocking(|conn| {
                    use diesel::connection::{AnsiTransactionManager, TransactionManager as _};
                    // `begin_transaction_sql` only opens the outermost transaction;
                    // inside one, a savepoint is what the plain begin makes.
                    match AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE") {
                        Err(QueryError::AlreadyInTransaction) => {
                            AnsiTransactionManager::begin_transaction(conn)
                        }
                        other => other,
                    }
                })
                .await
            }
            BackendConn::Postgres(conn) => {
                <AsyncPgConnection as AsyncConnection>::TransactionManager::begin_transaction(conn)
                    .await
            }
        }
    }

    async fn commit(&mut self) -> Result<(), QueryError> {
        match self.backend_conn() {
            BackendConn::Sqlite(conn) => {
                <SqliteConn as AsyncConnection>::TransactionManager::commit_transaction(conn).await
            }
            BackendConn::Postgres(conn) => {
                <AsyncPgConnection as AsyncConnection>::TransactionManager::commit_transaction(conn)
                    .await
            }
        }
    }

    async fn rollback(&mut self) -> Result<(), QueryError> {
        match self.backend_conn() {
            BackendConn::Sqlite(conn) => {
                <SqliteConn as AsyncConnection>::TransactionManager::rollback_transaction(conn)
                    .await
            }
            BackendConn::Postgres(conn) => {
                <AsyncPgConnection as AsyncConnection>::TransactionManager::rollback_transaction(
                    conn,
                )
                .await
            }
        }
    }
}

impl Database {
    /// Checks a connection out of the pool (counted by [`Database::checkouts`]).
    pub async fn conn(&self) -> DbResult<Conn> {
        let conn = match &self.pools {
            super::Pools::Sqlite(pool) => Conn::sqlite(pool.get().await.map_err(pool_error)?),
            super::Pools::Postgres(pool) => Conn::postgres(pool.get().await.map_err(pool_error)?),
        };
        self.counters.count_checkout();
        Ok(conn)
    }

    /// Runs `body` in one transaction on one connection (see [`Conn::transaction`]).
    ///
    /// Events about what the body wrote are published by the caller after this
    /// returns, so nobody hears of a change that was rolled back.
    pub async fn transaction<R, E, F>(&self, body: F) -> Result<R, E>
    where
        for<'r> F: AsyncFnOnce(&'r mut Conn) -> Result<R, E> + TransactionBody<'r, R, E> + Send,
        R: Send,
        E: From<DbError> + Send,
    {
        let mut conn = self.conn().await?;
        conn.transaction(body).await
    }
}

fn pool_error(error: impl std::fmt::Display) -> DbError {
    DbError::Pool(error.to_string())
}

/// Runs one query body on the connection `$conn` (a `&mut Conn`).
///
/// `$conn` is bound to the backend's own connection, so the body is
/// type-checked once per backend. Where the SQL really differs, give one
/// labelled body per backend:
///
/// ```ignore
/// db_run!(conn, |conn| Ok(cases::table.find(id).first(conn).await.optional()?))
/// db_run!(conn, sqlite: |conn| { … }, postgres: |conn| { … })
/// ```
///
/// The connection is reborrowed, so a `&mut Conn` passed by name stays usable
/// afterwards.
#[macro_export]
macro_rules! db_run {
    ($source:expr, |$conn:ident| $body:expr) => {
        $crate::db_run!($source, sqlite: |$conn| $body, postgres: |$conn| $body)
    };
    ($source:expr, sqlite: |$sqlite:ident| $sqlite_body:expr, postgres: |$postgres:ident| $postgres_body:expr $(,)?) => {{
        #[allow(unused_imports)]
        use diesel_async::{AsyncConnection as _, RunQueryDsl as _, SimpleAsyncConnection as _};
        let source: &mut $crate::db::Conn = $source;
        match source.backend_conn() {
            $crate::db::BackendConn::Sqlite($sqlite) => $sqlite_body,
            $crate::db::BackendConn::Postgres($postgres) => $postgres_body,
        }
    }};
}
