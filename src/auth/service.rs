//! Opening, rotating and closing login sessions.

use chrono::TimeDelta;

use crate::app::App;
use crate::db::{now, Conn};
use crate::error::{AppError, AppResult};
use crate::users::model::UserRow;

use super::families::{reasons, RefreshTokenRow, TokenFamilyRow};
use super::session::forget_user;
use super::tokens::{hash_refresh_token, new_refresh_token};
use super::Viewer;

/// The tokens handed to a client after login, registration or refresh.
pub struct IssuedTokens {
    /// Short-lived bearer token.
    pub access_token: String,
    /// Single-use token that buys the next pair.
    pub refresh_token: String,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
    /// The account the tokens are for.
    pub user: UserRow,
}

/// Opens a new login session for `user`.
pub async fn open_session(app: &App, user: UserRow) -> AppResult<IssuedTokens> {
    let issued_at = now();
    let family = TokenFamilyRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        created_at: issued_at,
        revoked_at: None,
        revoked_reason: None,
    };
    let (refresh_token, first) = refresh_row(app, &family.id, issued_at);
    TokenFamilyRow::open(&mut app.db.conn().await?, &family, &first).await?;
    issue(app, user, &family.id, refresh_token)
}

/// Trades a refresh token for a new pair; a reused token revokes its whole session.
pub async fn refresh_session(app: &App, presented: &str) -> AppResult<IssuedTokens> {
    let invalid = || AppError::Unauthenticated("invalid or expired refresh token".into());
    let mut conn = app.db.conn().await?;
    let stored = RefreshTokenRow::find(&mut conn, &hash_refresh_token(presented))
        .await?
        .ok_or_else(invalid)?;
    let current = now();
    if stored.used_at.is_some() {
        return Err(revoke_for_reuse(app, &mut conn, &stored.family_id).await);
    }
    let family = TokenFamilyRow::find(&mut conn, &stored.family_id)
        .await?
        .ok_or_else(invalid)?;
    if family.revoked_at.is_some() || stored.expires_at <= current {
        return Err(invalid());
    }
    let user = UserRow::find_by_id(&mut conn, &family.user_id)
        .await?
        .filter(|user| user.active)
        .ok_or_else(invalid)?;
    let (refresh_token, next) = refresh_row(app, &family.id, current);
    if !stored.rotate(&mut conn, &next, current).await? {
        return Err(revoke_for_reuse(app, &mut conn, &stored.family_id).await);
    }
    issue(app, user, &family.id, refresh_token)
}

/// Ends the caller's login session: its refresh tokens and access tokens stop working.
pub async fn close_session(app: &App, viewer: &Viewer) -> AppResult<()> {
    let mut conn = app.db.conn().await?;
    TokenFamilyRow::revoke(&mut conn, &viewer.family_id, reasons::LOGOUT, now()).await?;
    forget_user(app, viewer.id()).await;
    Ok(())
}

/// Ends every other login session of the caller (after a password change), on
/// `conn` (the transaction that changes the password); the caller forgets the
/// user's checked sessions (`forget_user`) once it commits.
pub async fn close_other_sessions(conn: &mut Conn, viewer: &Viewer) -> AppResult<()> {
    TokenFamilyRow::revoke_all_of_user_except(
        conn,
        viewer.id(),
        &viewer.family_id,
        reasons::PASSWORD_CHANGED,
        now(),
    )
    .await?;
    Ok(())
}

async fn revoke_for_reuse(app: &App, conn: &mut Conn, family_id: &str) -> AppError {
    tracing::warn!(family_id, "refresh token reused; revoking its session");
    if let Err(error) = TokenFamilyRow::revoke(conn, family_id, reasons::REUSE, now()).await {
        return error.into();
    }
    match TokenFamilyRow::find(conn, family_id).await {
        Ok(family) => {
            if let Some(family) = family {
                forget_user(app, &family.user_id).await;
            }
            AppError::Unauthenticated("refresh token was already used".into())
        }
        Err(error) => error.into(),
    }
}

fn refresh_row(
    app: &App,
    family_id: &str,
    issued_at: chrono::NaiveDateTime,
) -> (String, RefreshTokenRow) {
    let (token, token_hash) = new_refresh_token();
    let row = RefreshTokenRow {
        token_hash,
        family_id: family_id.to_owned(),
        issued_at,
        expires_at: issued_at + TimeDelta::seconds(app.tokens.refresh_ttl),
        used_at: None,
    };
    (token, row)
}

fn issue(
    app: &App,
    user: UserRow,
    family_id: &str,
    refresh_token: String,
) -> AppResult<IssuedTokens> {
    let access_token = app
        .tokens
        .issue_access_token(&user.id, family_id)
        .map_err(AppError::internal)?;
    Ok(IssuedTokens {
        access_token,
        refresh_token,
        expires_in: app.tokens.access_ttl,
        user,
    })
}
