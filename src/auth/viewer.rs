//! The authenticated caller and the admin capability.

use crate::error::{AppError, AppResult};
use crate::users::model::{Role, UserRow};

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
