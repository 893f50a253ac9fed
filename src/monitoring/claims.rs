//! How nodes on one database share the monitor's work without doing it twice.
//!
//! - Probes: every probed server carries its next probe time. A node claims
//!   the due servers it has room for by moving that time one interval forward
//!   in one `UPDATE … RETURNING` (with `FOR UPDATE SKIP LOCKED` on PostgreSQL,
//!   so nodes claiming at once take different servers). The next time counts
//!   from the scheduled one, not from when the probe ran, so probes keep
//!   their cadence; a server overdue by a whole interval restarts from now.
//! - Duties (alert evaluation, purging): one row per duty names the node
//!   holding it until an expiry. The holder renews it; any node takes it once
//!   it has expired, as with run leases.

use chrono::NaiveDateTime;
use diesel::sql_types::{BigInt, Text};
use diesel::{BoolExpressionMethods, ExpressionMethods, QueryDsl, QueryableByName};

use crate::db::schema::monitor_leases;
use crate::db::{Conn, DbResult};
use crate::db_run;

/// Claims due servers on PostgreSQL: `$1` now (ms), `$2` most servers to claim.
const CLAIM_DUE_POSTGRES: &str = "UPDATE servers SET next_probe_ms = CASE \
     WHEN next_probe_ms IS NULL OR next_probe_ms + probe_interval_secs * 1000::bigint <= $1 \
     THEN $1 + probe_interval_secs * 1000::bigint \
     ELSE next_probe_ms + probe_interval_secs * 1000::bigint END \
     WHERE id IN (SELECT id FROM servers \
         WHERE node_name IS NULL AND (next_probe_ms IS NULL OR next_probe_ms <= $1) \
         ORDER BY next_probe_ms NULLS FIRST LIMIT $2 FOR UPDATE SKIP LOCKED) \
     RETURNING id, next_probe_ms";

/// The same on SQLite, whose one writer at a time needs no row locks.
const CLAIM_DUE_SQLITE: &str = "UPDATE servers SET next_probe_ms = CASE \
     WHEN next_probe_ms IS NULL OR next_probe_ms + probe_interval_secs * 1000 <= ?1 \
     THEN ?1 + probe_interval_secs * 1000 \
     ELSE next_probe_ms + probe_interval_secs * 1000 END \
     WHERE id IN (SELECT id FROM servers \
         WHERE node_name IS NULL AND (next_probe_ms IS NULL OR next_probe_ms <= ?1) \
         ORDER BY next_probe_ms NULLS FIRST LIMIT ?2) \
     RETURNING id, next_probe_ms";

/// A server this node claimed the current probe of.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedProbe {
    /// The server.
    #[diesel(sql_type = Text)]
    pub id: String,
    /// When its following probe is due, epoch milliseconds.
    #[diesel(sql_type = BigInt)]
    pub next_probe_ms: i64,
}

/// Claims at most `limit` servers whose probe is due at `now_ms`.
pub async fn claim_due_probes(
    conn: &mut Conn,
    now_ms: i64,
    limit: i64,
) -> DbResult<Vec<ClaimedProbe>> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    db_run!(conn,
        sqlite: |conn| {
            Ok(diesel::sql_query(CLAIM_DUE_SQLITE)
                .bind::<BigInt, _>(now_ms)
                .bind::<BigInt, _>(limit)
                .load(conn)
                .await?)
        },
        postgres: |conn| {
            Ok(diesel::sql_query(CLAIM_DUE_POSTGRES)
                .bind::<BigInt, _>(now_ms)
                .bind::<BigInt, _>(limit)
                .load(conn)
                .await?)
        },
    )
}

/// Takes or renews the lease on `duty` for `owner` until `expires_at`; true while `owner` holds it.
///
/// Renewing succeeds for the holder; taking over succeeds once the lease has
/// expired; a duty nobody held yet goes to whoever inserts its row first.
pub async fn hold_duty(
    conn: &mut Conn,
    duty: &str,
    owner: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> DbResult<bool> {
    db_run!(conn, |conn| {
        let renewed = diesel::update(
            monitor_leases::table.find(duty).filter(
                monitor_leases::owner
                    .eq(owner)
                    .or(monitor_leases::expires_at.lt(now)),
            ),
        )
        .set((
            monitor_leases::owner.eq(owner),
            monitor_leases::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
        if renewed > 0 {
            return Ok(true);
        }
        let inserted = diesel::insert_into(monitor_leases::table)
            .values((
                monitor_leases::duty.eq(duty),
                monitor_leases::owner.eq(owner),
                monitor_leases::expires_at.eq(expires_at),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(inserted > 0)
    })
}

/// Gives up `owner`'s lease on `duty` at once, so another node need not wait for it to expire.
pub async fn release_duty(conn: &mut Conn, duty: &str, owner: &str) -> DbResult<()> {
    db_run!(conn, |conn| {
        diesel::delete(
            monitor_leases::table
                .find(duty)
                .filter(monitor_leases::owner.eq(owner)),
        )
        .execute(conn)
        .await?;
        Ok(())
    })
}
