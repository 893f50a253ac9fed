//! Run reads for DataLoaders: many runs in one statement.

use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};

use crate::db::schema::runs;
use crate::db::{Conn, DbResult};
use crate::db_run;

use super::model::RunRow;

impl RunRow {
    /// The runs with these ids, in no particular order (what [`RunRow::find`]
    /// reads for one id).
    pub async fn find_by_ids(conn: &mut Conn, ids: &[String]) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(runs::table
                .filter(runs::id.eq_any(ids))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }
}
