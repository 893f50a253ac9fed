//! A request's credentials, checking them, and forgetting what was checked.

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::users::model::UserRow;

use super::families::TokenFamilyRow;
use super::viewer::Viewer;

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
/// The session and user come from the [`SessionCache`](super::cache::SessionCache) when it checked
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

/// Makes every node stop trusting what it checked of `user_id`'s sessions;
/// call it after a write to the user or their token families commits.
pub async fn forget_user(app: &App, user_id: &str) {
    app.sessions.forget_everywhere(&app.bus, user_id).await;
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
