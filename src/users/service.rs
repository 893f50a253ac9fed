//! Account rules: registration, login, password changes and admin edits.

use std::net::IpAddr;
use std::time::Duration;

use crate::app::App;
use crate::auth::password::{hash_password, verify_password};
use crate::auth::service::{close_other_sessions, open_session, IssuedTokens};
use crate::auth::{AdminViewer, Viewer};
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::notifications::{self, NotificationKind};

use super::model::{Role, UserChanges, UserRow};
use super::validate;

/// What it takes to open an account.
pub struct NewAccount {
    /// 3–32 characters of `[A-Za-z0-9_.-]`.
    pub username: String,
    /// A valid address.
    pub email: String,
    /// At least 8 characters.
    pub password: String,
}

/// An admin's changes to an account; `None` leaves a field as it is.
#[derive(Default)]
pub struct AccountChanges {
    /// New username.
    pub username: Option<String>,
    /// New email.
    pub email: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}

/// Self-service registration; the very first account becomes an admin.
pub async fn register(app: &App, account: NewAccount) -> AppResult<IssuedTokens> {
    if !app.config.auth.allow_registration {
        return Err(AppError::Forbidden(
            "registration is disabled; ask an admin for an account".into(),
        ));
    }
    let role = if UserRow::count_all(&app.db).await? == 0 {
        Role::Admin
    } else {
        Role::User
    };
    let mut user = create_account(app, account, role).await?;
    user = record_login(app, user).await?;
    open_session(app, user).await
}

/// Creates an account with `role` (admins, the CLI, and registration).
pub async fn create_account(app: &App, account: NewAccount, role: Role) -> AppResult<UserRow> {
    let username = validate::username("username", &account.username)?;
    let email = validate::email("email", &account.email)?;
    validate::password("password", &account.password)?;
    ensure_unused(app, &username, &email, None).await?;
    let created_at = now();
    let user = UserRow {
        id: uuid::Uuid::now_v7().to_string(),
        username,
        email,
        password_hash: hash_password(account.password).await?,
        role: role.as_str().to_owned(),
        active: true,
        created_at,
        updated_at: created_at,
        last_login_at: None,
    };
    user.insert(&app.db).await.map_err(|error| {
        if error.is_unique_violation() {
            AppError::Conflict("username or email is already taken".into())
        } else {
            error.into()
        }
    })?;
    Ok(user)
}

/// Checks `login` (username or email) and `password`; rate-limited per name and per address.
pub async fn login(
    app: &App,
    login: &str,
    password: String,
    client: Option<IpAddr>,
) -> AppResult<IssuedTokens> {
    let limits = &app.config.auth;
    let window = Duration::from_secs(limits.login_window);
    app.login_limiter
        .hit(
            &format!("login:name:{}", login.trim().to_lowercase()),
            limits.login_limit_per_name,
            window,
        )
        .await?;
    if let Some(client) = client {
        app.login_limiter
            .hit(
                &format!("login:addr:{client}"),
                limits.login_limit_per_address,
                window,
            )
            .await?;
    }
    let found = UserRow::find_by_username_or_email(&app.db, login.trim()).await?;
    // Hash even for unknown names, so timing does not tell which names exist.
    let stored_hash = found.as_ref().map_or_else(
        || app.dummy_password_hash.clone(),
        |u| u.password_hash.clone(),
    );
    let matches = verify_password(password, stored_hash).await?;
    let user = match found {
        Some(user) if matches && user.active => user,
        Some(user) if matches && !user.active => {
            return Err(AppError::Unauthenticated("account is deactivated".into()))
        }
        _ => return Err(AppError::Unauthenticated("wrong login or password".into())),
    };
    let user = record_login(app, user).await?;
    open_session(app, user).await
}

/// Replaces the caller's password and ends their other sessions.
pub async fn change_password(
    app: &App,
    viewer: &Viewer,
    current_password: String,
    new_password: String,
) -> AppResult<()> {
    if !verify_password(current_password, viewer.user.password_hash.clone()).await? {
        return Err(AppError::bad_input(
            "currentPassword",
            "current password is wrong",
        ));
    }
    validate::password("newPassword", &new_password)?;
    let changes = UserChanges {
        password_hash: Some(hash_password(new_password).await?),
        updated_at: Some(now()),
        ..UserChanges::default()
    };
    UserRow::update(&app.db, viewer.id(), &changes).await?;
    close_other_sessions(app, viewer).await
}

/// An admin edits an account. The last active admin keeps their role and access.
pub async fn update_account(
    app: &App,
    _admin: &AdminViewer,
    id: &str,
    changes: AccountChanges,
) -> AppResult<UserRow> {
    let target = UserRow::find_by_id(&app.db, id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let username = changes
        .username
        .as_deref()
        .map(|value| validate::username("username", value))
        .transpose()?;
    let email = changes
        .email
        .as_deref()
        .map(|value| validate::email("email", value))
        .transpose()?;
    let loses_admin = target.is_active_admin()
        && (changes.role == Some(Role::User) || changes.active == Some(false));
    if loses_admin && UserRow::count_other_active_admins(&app.db, id).await? == 0 {
        return Err(AppError::Conflict(
            "the last active admin cannot be demoted or deactivated".into(),
        ));
    }
    ensure_unused(
        app,
        username.as_deref().unwrap_or(""),
        email.as_deref().unwrap_or(""),
        Some(id),
    )
    .await?;
    let row_changes = UserChanges {
        username,
        email,
        role: changes.role.map(|role| role.as_str().to_owned()),
        active: changes.active,
        updated_at: Some(now()),
        ..UserChanges::default()
    };
    let updated = UserRow::update(&app.db, id, &row_changes)
        .await
        .map_err(|error| {
            if error.is_unique_violation() {
                AppError::Conflict("username or email is already taken".into())
            } else {
                error.into()
            }
        })?
        .ok_or(AppError::NotFound("user"))?;
    notify_account_changes(app, &target, &updated).await?;
    Ok(updated)
}

/// An admin deletes an account. The last active admin cannot be deleted.
pub async fn delete_account(app: &App, _admin: &AdminViewer, id: &str) -> AppResult<UserRow> {
    let target = UserRow::find_by_id(&app.db, id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if target.is_active_admin() && UserRow::count_other_active_admins(&app.db, id).await? == 0 {
        return Err(AppError::Conflict(
            "the last active admin cannot be deleted".into(),
        ));
    }
    if !UserRow::delete(&app.db, id).await? {
        return Err(AppError::NotFound("user"));
    }
    Ok(target)
}

async fn record_login(app: &App, user: UserRow) -> AppResult<UserRow> {
    let changes = UserChanges {
        last_login_at: Some(now()),
        ..UserChanges::default()
    };
    Ok(UserRow::update(&app.db, &user.id, &changes)
        .await?
        .unwrap_or(user))
}

/// `CONFLICT` when another account (not `except_id`) has this username or email.
async fn ensure_unused(
    app: &App,
    username: &str,
    email: &str,
    except_id: Option<&str>,
) -> AppResult<()> {
    let other = |user: &UserRow| Some(user.id.as_str()) != except_id;
    if !username.is_empty() {
        let holder = UserRow::find_by_username_or_email(&app.db, username).await?;
        if holder
            .filter(|u| other(u) && u.username.eq_ignore_ascii_case(username))
            .is_some()
        {
            return Err(AppError::Conflict(format!(
                "username '{username}' is taken"
            )));
        }
    }
    if !email.is_empty() {
        let holder = UserRow::find_by_username_or_email(&app.db, email).await?;
        if holder.filter(|u| other(u) && u.email == email).is_some() {
            return Err(AppError::Conflict("email is already registered".into()));
        }
    }
    Ok(())
}

/// Tells a user when an admin changed their role or access.
async fn notify_account_changes(app: &App, before: &UserRow, after: &UserRow) -> AppResult<()> {
    if before.role != after.role {
        let message = format!("An admin changed your role to {}.", after.role);
        notifications::service::notify(app, &after.id, NotificationKind::RoleChanged, message)
            .await?;
    }
    if before.active != after.active {
        let (kind, message) = if after.active {
            (
                NotificationKind::AccountActivated,
                "An admin re-activated your account.",
            )
        } else {
            (
                NotificationKind::AccountDeactivated,
                "An admin deactivated your account.",
            )
        };
        notifications::service::notify(app, &after.id, kind, message.to_owned()).await?;
    }
    Ok(())
}
