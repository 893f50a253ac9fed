//! After a key rotation: what runs keep sealed (the secret variables of their
//! environment snapshots, the real values of captures shown masked) is sealed
//! again with the current key, so a run can be taken over once the previous
//! key is gone.

use diesel::{ExpressionMethods, QueryDsl};

use crate::app::App;
use crate::db::schema::{run_cases, runs};
use crate::db::{Conn, DbResult};
use crate::db_run;

use super::service::EnvironmentSnapshot;

/// Reseals every run's sealed values with the current key; returns how many
/// values were resealed.
pub async fn reseal_runs(app: &App) -> anyhow::Result<usize> {
    let mut conn = app.db.conn().await?;
    let mut resealed = 0;
    for (id, stored) in snapshots(&mut conn).await? {
        let mut snapshot: EnvironmentSnapshot = serde_json::from_str(&stored)?;
        let mut changed = 0;
        for variable in snapshot
            .variables
            .iter_mut()
            .filter(|variable| variable.secret)
        {
            if app.secrets.needs_reseal(&variable.value) {
                variable.value = app.secrets.reseal(&variable.value)?;
                changed += 1;
            }
        }
        if changed > 0 {
            set_snapshot(&mut conn, &id, &serde_json::to_string(&snapshot)?).await?;
            resealed += changed;
        }
    }
    for (id, sealed) in sealed_captures(&mut conn).await? {
        if app.secrets.needs_reseal(&sealed) {
            set_sealed_captures(&mut conn, &id, &app.secrets.reseal(&sealed)?).await?;
            resealed += 1;
        }
    }
    Ok(resealed)
}

/// Every run's id and environment snapshot.
async fn snapshots(conn: &mut Conn) -> DbResult<Vec<(String, String)>> {
    db_run!(conn, |conn| {
        Ok(runs::table
            .select((runs::id, runs::environment))
            .load(conn)
            .await?)
    })
}

async fn set_snapshot(conn: &mut Conn, id: &str, snapshot: &str) -> DbResult<()> {
    db_run!(conn, |conn| {
        diesel::update(runs::table.find(id))
            .set(runs::environment.eq(snapshot))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Every run case holding sealed captures, with them.
async fn sealed_captures(conn: &mut Conn) -> DbResult<Vec<(String, String)>> {
    db_run!(conn, |conn| {
        let rows: Vec<(String, Option<String>)> = run_cases::table
            .filter(run_cases::sealed_captures.is_not_null())
            .select((run_cases::id, run_cases::sealed_captures))
            .load(conn)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, sealed)| sealed.map(|sealed| (id, sealed)))
            .collect())
    })
}

async fn set_sealed_captures(conn: &mut Conn, id: &str, sealed: &str) -> DbResult<()> {
    db_run!(conn, |conn| {
        diesel::update(run_cases::table.find(id))
            .set(run_cases::sealed_captures.eq(sealed))
            .execute(conn)
            .await?;
        Ok(())
    })
}
