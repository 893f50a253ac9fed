//! Who is calling: tokens, passwords, sessions and the checks built on them.
//!
//! A resolver never reads a token itself: it asks the request's [`Session`]
//! for a [`Viewer`] (an authenticated, active user), and a viewer hands out
//! an [`AdminViewer`] only to admins, so admin-only code cannot be reached
//! without the check.

pub mod argon2id;
pub mod cache;
pub mod families;
pub mod graphql;
pub mod password;
pub mod rate_limit;
pub mod service;
pub mod throttle;
pub mod tokens;

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::users::model::{Role, UserRow};

use families::TokenFamilyRow;

/// An authenticated, active user and the login session the token belongs to.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The account, as stored when the request was authenticated.
    pub user: UserRow,
    /// The login session (token family).
    pub family_id: String,
}

/// Proof that the caller is an active admin; only [`Viewer::require_admin`] makes one.
#[derive(Debug, Clone)]
pub struct AdminViewer(Viewer);

impl AdminViewer {
    /// The admin.
    pub fn viewer(&self) -> &Viewer {
        &self.0
    }
}

impl Viewer {
    /// The user's id.
    pub fn id(&self) -> &str {
        &self.user.id
    }

    /// True when the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// The admin capability, or `FORBIDDEN`.
    pub fn require_admin(&self) -> AppResult<AdminViewer> {
        if self.is_admin() {
            Ok(AdminViewer(self.clone()))
        } else {
            Err(AppError::Forbidden("only admins may do this".into()))
        }
    }
}

/// The credentials a request (or a WebSocket connection) arrived with.
#[derive(Clone)]
pub struct Session {
    bearer: Option<String>,
    /// Set for one HTTP request; unset on a WebSocket, where every operation checks anew.
    verified: Option<Arc<OnceCell<Viewer>>>,
}

impl Session {
    /// A session for one HTTP request: the token is checked at most once.
    pub fn for_request(bearer: Option<String>) -> Self {
        Self {
            bearer,
            verified: Some(Arc::new(OnceCell::new())),
        }
    }

    /// A session for a long-lived connection: the token is checked at every operation,
    /// so a deactivated user or a revoked session loses access at the next subscribe.
    pub fn for_connection(bearer: Option<String>) -> Self {
        Self {
            bearer,
            verified: None,
        }
    }

    /// The bearer token as presented (agents authenticate with their own tokens).
    pub fn bearer(&self) -> Option<&str> {
        self.bearer.as_deref()
    }

    /// The caller.
    pub async fn viewer(&self, app: &App) -> AppResult<Viewer> {
        match &self.verified {
            Some(cell) => cell
                .get_or_try_init(|| authenticate(app, self.bearer.as_deref()))
                .await
                .cloned(),
            None => authenticate(app, self.bearer.as_deref()).await,
        }
    }
}

/// Reads `Bearer <token>` from an `Authorization` header value.
pub fn parse_bearer(header: &str) -> Option<String> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Checks an access token: signature, expiry, live session, active user.
/// The session and user come from the [`cache::SessionCache`] when it checked
/// them in the last few seconds; writes that change them clear it.
pub async fn authenticate(app: &App, bearer: Option<&str>) -> AppResult<Viewer> {
    let token =
        bearer.ok_or_else(|| AppError::Unauthenticated("authentication required".into()))?;
    let invalid = || AppError::Unauthenticated("invalid or expired token".into());
    let claims = app.tokens.verify_access_token(token).ok_or_else(invalid)?;
    if let Some(viewer) = app.sessions.get(&claims.fam) {
        return if viewer.user.id == claims.sub {
            Ok(viewer)
        } else {
            Err(invalid())
        };
    }
    let ticket = app.sessions.ticket();
    let mut conn = app.db.conn().await?;
    let family = TokenFamilyRow::find(&mut conn, &claims.fam)
        .await?
        .ok_or_else(invalid)?;
    if family.user_id != claims.sub || family.revoked_at.is_some() {
        return Err(invalid());
    }
    let user = UserRow::find_by_id(&mut conn, &claims.sub)
        .await?
        .ok_or_else(invalid)?;
    if !user.active {
        return Err(AppError::Unauthenticated("account is deactivated".into()));
    }
    let viewer = Viewer {
        user,
        family_id: family.id,
    };
    app.sessions.store(ticket, &viewer);
    Ok(viewer)
}

#[cfg(test)]
mod tests {
    use super::parse_bearer;

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(parse_bearer("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(parse_bearer("bearer  abc ").as_deref(), Some("abc"));
        assert_eq!(parse_bearer("Basic abc"), None);
        assert_eq!(parse_bearer("Bearer "), None);
        assert_eq!(parse_bearer("abc"), None);
    }
}
