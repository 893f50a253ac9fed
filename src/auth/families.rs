//! Login sessions ("token families") and their refresh tokens.
//!
//! A login opens a family; each refresh uses one token of it and adds the
//! next. Presenting a used token again revokes the family, and with it every
//! access token that carries the family's id.

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel::{Insertable, Queryable, Selectable};

use crate::db::schema::{refresh_tokens, token_families};
use crate::db::{Conn, DbResult};
use crate::db_run;

/// A stored refresh token.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub family_id: String,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// A login session.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = token_families)]
pub struct TokenFamilyRow {
    pub id: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_reason: Option<String>,
}

/// Why a family was revoked.
pub mod reasons {
    /// The user logged out.
    pub const LOGOUT: &str = "logout";
    /// A used refresh token was presented again.
    pub const REUSE: &str = "refresh token reuse";
    /// The user changed the password.
    pub const PASSWORD_CHANGED: &str = "password changed";
}

/// Database methods.
impl TokenFamilyRow {
    /// Opens a family and stores its first refresh token, in one transaction.
    pub async fn open(conn: &mut Conn, family: &Self, first: &RefreshTokenRow) -> DbResult<()> {
        conn.transaction(async |conn| {
            db_run!(conn, |conn| {
                diesel::insert_into(token_families::table)
                    .values(family)
                    .execute(conn)
                    .await?;
                diesel::insert_into(refresh_tokens::table)
                    .values(first)
                    .execute(conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// The family `id`.
    pub async fn find(conn: &mut Conn, id: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(token_families::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Revokes the family `id` unless it is revoked already.
    pub async fn revoke(
        conn: &mut Conn,
        id: &str,
        reason: &str,
        now: NaiveDateTime,
    ) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::update(
                token_families::table
                    .find(id)
                    .filter(token_families::revoked_at.is_null()),
            )
            .set((
                token_families::revoked_at.eq(now),
                token_families::revoked_reason.eq(reason),
            ))
            .execute(conn)
            .await?;
            Ok(())
        })
    }

    /// Revokes every live family of `user_id` except `keep_id`.
    pub async fn revoke_all_of_user_except(
        conn: &mut Conn,
        user_id: &str,
        keep_id: &str,
        reason: &str,
        now: NaiveDateTime,
    ) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::update(
                token_families::table
                    .filter(token_families::user_id.eq(user_id))
                    .filter(token_families::id.ne(keep_id))
                    .filter(token_families::revoked_at.is_null()),
            )
            .set((
                token_families::revoked_at.eq(now),
                token_families::revoked_reason.eq(reason),
            ))
            .execute(conn)
            .await?;
            Ok(())
        })
    }
}

/// Database methods.
impl RefreshTokenRow {
    /// The token stored under `token_hash`.
    pub async fn find(conn: &mut Conn, token_hash: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(refresh_tokens::table
                .find(token_hash)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Marks `self` used and stores `next` in its place, atomically.
    ///
    /// Returns false, storing nothing, when the token was used meanwhile
    /// (two refreshes racing with one token count as reuse).
    pub async fn rotate(&self, conn: &mut Conn, next: &Self, now: NaiveDateTime) -> DbResult<bool> {
        conn.transaction(async |conn| {
            db_run!(conn, |conn| {
                let claimed = diesel::update(
                    refresh_tokens::table
                        .find(&self.token_hash)
                        .filter(refresh_tokens::used_at.is_null()),
                )
                .set(refresh_tokens::used_at.eq(now))
                .execute(conn)
                .await?;
                if claimed == 0 {
                    return Ok(false);
                }
                diesel::insert_into(refresh_tokens::table)
                    .values(next)
                    .execute(conn)
                    .await?;
                Ok(true)
            })
        })
        .await
    }
}
