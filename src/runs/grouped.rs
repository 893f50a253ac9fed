//! The runner's group writes: a batch of started or finished cases is stored
//! with a fixed number of statements, whatever its size (chunked only to stay
//! under the backends' bind limits), with its events, in the caller's
//! transaction.

use chrono::NaiveDateTime;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;
use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};

use crate::db::schema::{run_cases, run_events, runs};
use crate::db::{placeholders, Conn, DbResult};
use crate::db_run;

use super::model::{CaseCompletion, NewEvent, RunCaseId, RunEventRow, RunId, RunRow};
use super::state::CaseResultStatus;

/// Rows per statement: SQLite takes at most 32,766 bound values in one statement.
const CHUNK: usize = 1_000;

impl RunRow {
    /// Marks `starts` (run case, its CASE_STARTED event) running and stores
    /// their events (in the caller's transaction: the driver starts every case
    /// a free worker can take at once): two statements per chunk of cases and
    /// one for their events.
    pub async fn start_cases(
        conn: &mut Conn,
        id: &RunId,
        starts: &[(RunCaseId, NewEvent)],
        at: NaiveDateTime,
    ) -> DbResult<Vec<RunEventRow>> {
        let mut events = Vec::with_capacity(starts.len());
        for chunk in starts.chunks(CHUNK) {
            let ids: Vec<&str> = chunk.iter().map(|(id, _)| &**id).collect();
            let last_seq = db_run!(&mut *conn, |conn| {
                diesel::update(run_cases::table.filter(run_cases::id.eq_any(&ids)))
                    .set(run_cases::status.eq(CaseResultStatus::Running))
                    .execute(conn)
                    .await?;
                diesel::update(runs::table.find(id))
                    .set(runs::next_seq.eq(runs::next_seq + chunk_len(chunk.len())))
                    .returning(runs::next_seq)
                    .get_result::<i64>(conn)
                    .await
            })?;
            let first_seq = last_seq - chunk_len(chunk.len()) + 1;
            let rows: Vec<RunEventRow> = chunk
                .iter()
                .zip(first_seq..)
                .map(|((_, event), seq)| event_row(id, seq, event, at))
                .collect();
            insert_events(conn, &rows).await?;
            events.extend(rows);
        }
        Ok(events)
    }

    /// Stores case results, counts them into the run and appends one event per
    /// result (built by `event_of` from the run as counted up to that result),
    /// in the caller's transaction: three statements per chunk of results.
    pub async fn complete_cases(
        conn: &mut Conn,
        id: &RunId,
        completions: &[CaseCompletion],
        event_of: &(dyn Fn(&CaseCompletion, &RunRow) -> NewEvent + Sync),
        at: NaiveDateTime,
    ) -> DbResult<(Self, Vec<RunEventRow>)> {
        let mut events = Vec::with_capacity(completions.len());
        let mut run = None;
        for chunk in completions.chunks(CHUNK) {
            store_results(conn, chunk, at).await?;
            let counted = Counts::of(chunk);
            let after: RunRow = db_run!(&mut *conn, |conn| {
                diesel::update(runs::table.find(id))
                    .set((
                        runs::passed.eq(runs::passed + counted.passed),
                        runs::failed.eq(runs::failed + counted.failed),
                        runs::errored.eq(runs::errored + counted.errored),
                        runs::skipped.eq(runs::skipped + counted.skipped),
                        runs::next_seq.eq(runs::next_seq + chunk_len(chunk.len())),
                    ))
                    .returning(RunRow::as_returning())
                    .get_result(conn)
                    .await
            })?;
            // The run as it was before this chunk, then counted result by result.
            let mut so_far = after.clone();
            so_far.passed -= counted.passed;
            so_far.failed -= counted.failed;
            so_far.errored -= counted.errored;
            so_far.skipped -= counted.skipped;
            let first_seq = after.next_seq - chunk_len(chunk.len()) + 1;
            let mut rows = Vec::with_capacity(chunk.len());
            for (completion, seq) in chunk.iter().zip(first_seq..) {
                *Counts::field(&mut so_far, completion.status) += 1;
                rows.push(event_row(id, seq, &event_of(completion, &so_far), at));
            }
            insert_events(conn, &rows).await?;
            events.extend(rows);
            run = Some(after);
        }
        let run = match run {
            Some(run) => run,
            None => db_run!(&mut *conn, |conn| {
                runs::table
                    .find(id)
                    .select(RunRow::as_select())
                    .first(conn)
                    .await
            })?,
        };
        Ok((run, events))
    }
}

/// How many results of each kind a chunk holds.
struct Counts {
    passed: i32,
    failed: i32,
    errored: i32,
    skipped: i32,
}

impl Counts {
    fn of(completions: &[CaseCompletion]) -> Self {
        let mut counts = Self {
            passed: 0,
            failed: 0,
            errored: 0,
            skipped: 0,
        };
        for completion in completions {
            *counts.count_of(completion.status) += 1;
        }
        counts
    }

    fn count_of(&mut self, status: CaseResultStatus) -> &mut i32 {
        match status {
            CaseResultStatus::Passed => &mut self.passed,
            CaseResultStatus::Failed => &mut self.failed,
            CaseResultStatus::Error => &mut self.errored,
            _ => &mut self.skipped,
        }
    }

    /// The run's counter a result of `status` adds to.
    fn field(run: &mut RunRow, status: CaseResultStatus) -> &mut i32 {
        match status {
            CaseResultStatus::Passed => &mut run.passed,
            CaseResultStatus::Failed => &mut run.failed,
            CaseResultStatus::Error => &mut run.errored,
            _ => &mut run.skipped,
        }
    }
}

fn chunk_len(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

fn event_row(run_id: &RunId, seq: i64, event: &NewEvent, at: NaiveDateTime) -> RunEventRow {
    RunEventRow {
        run_id: run_id.clone(),
        seq,
        kind: event.kind.to_owned(),
        payload: event.payload.to_string(),
        created_at: at,
    }
}

async fn insert_events(conn: &mut Conn, rows: &[RunEventRow]) -> DbResult<()> {
    db_run!(conn,
        // diesel builds no multi-row INSERT for SQLite: one with a `VALUES` list.
        sqlite: |conn| {
            let sql = format!(
                "INSERT INTO run_events (run_id, seq, kind, payload, created_at) VALUES {}",
                placeholders(rows.len(), 5)
            );
            let mut query = diesel::sql_query(sql).into_boxed::<Sqlite>();
            for row in rows {
                query = query
                    .bind::<Text, _>(&*row.run_id)
                    .bind::<BigInt, _>(row.seq)
                    .bind::<Text, _>(row.kind.as_str())
                    .bind::<Text, _>(row.payload.as_str())
                    .bind::<Timestamp, _>(row.created_at);
            }
            query.execute(conn).await
        },
        postgres: |conn| {
            diesel::insert_into(run_events::table)
                .values(rows)
                .execute(conn)
                .await
        }
    )?;
    Ok(())
}

/// One `UPDATE` for every result of the chunk: PostgreSQL joins the values as
/// arrays (`UNNEST`), SQLite as a `VALUES` list.
async fn store_results(
    conn: &mut Conn,
    chunk: &[CaseCompletion],
    at: NaiveDateTime,
) -> DbResult<()> {
    const SET: &str = "SET status = v.status, duration_ms = v.duration_ms, result = v.result, \
         sealed_captures = v.sealed_captures, finished_at = ";
    db_run!(conn,
        sqlite: |conn| {
            let sql = format!(
                "WITH v(id, status, duration_ms, result, sealed_captures) AS (VALUES {}) \
                 UPDATE run_cases {SET}? FROM v WHERE run_cases.id = v.id",
                placeholders(chunk.len(), 5)
            );
            let mut query = diesel::sql_query(sql).into_boxed::<Sqlite>();
            for completion in chunk {
                query = query
                    .bind::<Text, _>(&*completion.run_case_id)
                    .bind::<Text, _>(completion.status.as_str())
                    .bind::<Nullable<BigInt>, _>(completion.duration_ms)
                    .bind::<Text, _>(completion.result.as_str())
                    .bind::<Nullable<Text>, _>(completion.sealed_captures.as_deref());
            }
            query.bind::<Timestamp, _>(at).execute(conn).await
        },
        postgres: |conn| {
            use diesel::sql_types::Array;
            let ids: Vec<&str> = chunk.iter().map(|c| &*c.run_case_id).collect();
            let statuses: Vec<&str> = chunk.iter().map(|c| c.status.as_str()).collect();
            let durations: Vec<Option<i64>> = chunk.iter().map(|c| c.duration_ms).collect();
            let results: Vec<&str> = chunk.iter().map(|c| c.result.as_str()).collect();
            let sealed: Vec<Option<&str>> = chunk.iter().map(|c| c.sealed_captures.as_deref()).collect();
            diesel::sql_query(format!(
                "UPDATE run_cases {SET}$6 FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[]) \
                 AS v(id, status, duration_ms, result, sealed_captures) WHERE run_cases.id = v.id"
            ))
            .bind::<Array<Text>, _>(&ids)
            .bind::<Array<Text>, _>(&statuses)
            .bind::<Array<Nullable<BigInt>>, _>(&durations)
            .bind::<Array<Text>, _>(&results)
            .bind::<Array<Nullable<Text>>, _>(&sealed)
            .bind::<Timestamp, _>(at)
            .execute(conn)
            .await
        }
    )?;
    Ok(())
}
