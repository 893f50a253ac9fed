//! Storage foundations: what a request costs, transactions on one connection,
//! and typed storage that refuses values it does not know.

mod costs;
mod transactions;
mod typed;

use diesel_async::SimpleAsyncConnection;
use tidewatch::db::BackendConn;
use tidewatch::App;

/// Runs raw SQL on the node's database, as an operator (or a bug) would.
pub async fn execute(app: &App, sql: &str) {
    let mut conn = app.db.conn().await.expect("connection");
    match conn.backend_conn() {
        BackendConn::Sqlite(conn) => conn.batch_execute(sql).await,
        BackendConn::Postgres(conn) => conn.batch_execute(sql).await,
    }
    .unwrap_or_else(|error| panic!("{sql}: {error}"));
}
