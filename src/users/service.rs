//! Account rules: registration, login, password changes and admin edits.
//!
//! An admin's change to an account and its audit entry commit together;
//! the notifications it sends are stored in the same transaction and
//! published after it.

use std::net::IpAddr;

use crate::app::App;
use crate::audit::{self, AuditEvent};
use crate::auth::service::{close_other_sessions, open_session, IssuedTokens};
use crate::auth::session::forget_user;
use crate::auth::throttle::{self, LoginAdmission, LoginSubject};
use crate::auth::{AdminViewer, Viewer};
use crate::db::{now, Conn, DbError, DbResult};
use crate::error::{AppError, AppResult};
use crate::notifications::model::NotificationRow;
use crate::notifications::{self, NotificationKind};

use super::guarded::AdminRuleOutcome;
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

/// Self-service registration, rate-limited per client address; the very first account
/// becomes an admin.
pub async fn register(
    app: &App,
    account: NewAccount,
    client: Option<IpAddr>,
) -> AppResult<IssuedTokens> {
    if !app.config.auth.allow_registration {
        return Err(AppError::Forbidden(
            "registration is disabled; ask an admin for an account".into(),
        ));
    }
    throttle::admit_registration(app, client).await?;
    let prepared = prepare_account(app, account, Role::User).await?;
    let mut conn = app.db.conn().await?;
    let user = prepared
        .insert_registered(&mut conn)
        .await
        .map_err(taken_or_failed)?;
    let user = record_login(&mut conn, user).await?;
    drop(conn);
    open_session(app, user).await
}

/// Creates an account with `role`, for the node's operator (the command line).
pub async fn create_account(app: &App, account: NewAccount, role: Role) -> AppResult<UserRow> {
    let user = prepare_account(app, account, role).await?;
    user.insert(&mut app.db.conn().await?)
        .await
        .map_err(taken_or_failed)?;
    Ok(user)
}

/// An admin creates an account with `role`; the account and its audit entry commit together.
pub async fn create_account_as_admin(
    app: &App,
    admin: &AdminViewer,
    account: NewAccount,
    role: Role,
) -> AppResult<UserRow> {
    let user = prepare_account(app, account, role).await?;
    let summary = format!("created account '{}' with role {role}", user.username);
    app.db
        .transaction(async |conn| {
            user.insert(conn).await.map_err(taken_or_failed)?;
            record_admin_change(conn, admin, "user.create", &user.id, summary).await?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(user)
}

/// A new account's row: checked, with its password hashed, not stored yet.
async fn prepare_account(app: &App, account: NewAccount, role: Role) -> AppResult<UserRow> {
    let username = validate::username("username", &account.username)?;
    let email = validate::email("email", &account.email)?;
    validate::password("password", &account.password)?;
    ensure_unused(&mut app.db.conn().await?, &username, &email, None).await?;
    let created_at = now();
    Ok(UserRow {
        id: uuid::Uuid::now_v7().to_string(),
        username,
        email,
        password_hash: app.passwords.hash(account.password).await?,
        role,
        active: true,
        created_at,
        updated_at: created_at,
        last_login_at: None,
    })
}

/// Checks `login` (username or email) and `password`; rate-limited per client address
/// and per account (see [`throttle`]).
pub async fn login(
    app: &App,
    login: &str,
    password: String,
    client: Option<IpAddr>,
) -> AppResult<IssuedTokens> {
    throttle::admit_login_from(app, client).await?;
    let login = login.trim();
    let found = UserRow::find_by_username_or_email(&mut app.db.conn().await?, login).await?;
    let unknown_name = login.to_lowercase();
    let subject = match &found {
        Some(user) => LoginSubject::Account(&user.id),
        None => LoginSubject::UnknownName(&unknown_name),
    };
    let admission = throttle::admit_login_to(app, subject).await?;
    let stored_hash = found.as_ref().map(|user| user.password_hash.clone());
    let matches = app.passwords.verify(password, stored_hash).await?;
    let user = match found {
        Some(user) if matches && user.active => user,
        Some(_) if matches => {
            return Err(AppError::Unauthenticated("account is deactivated".into()))
        }
        _ => return Err(refused_login(admission)),
    };
    let user = record_login(&mut app.db.conn().await?, user).await?;
    // Checked sessions of this account carry the previous last login.
    forget_user(app, &user.id).await;
    open_session(app, user).await
}

/// Replaces the caller's password and ends their other sessions. A wrong current
/// password counts against the account's login limit.
pub async fn change_password(
    app: &App,
    viewer: &Viewer,
    current_password: String,
    new_password: String,
) -> AppResult<()> {
    let admission = throttle::admit_login_to(app, LoginSubject::Account(viewer.id())).await?;
    let current_hash = Some(viewer.user.password_hash.clone());
    if !app.passwords.verify(current_password, current_hash).await? {
        return Err(match admission {
            LoginAdmission::Open => {
                AppError::bad_input("currentPassword", "current password is wrong")
            }
            paced => refused_login(paced),
        });
    }
    validate::password("newPassword", &new_password)?;
    let changes = UserChanges {
        password_hash: Some(app.passwords.hash(new_password).await?),
        updated_at: Some(now()),
        ..UserChanges::default()
    };
    app.db
        .transaction(async |conn| {
            UserRow::update(conn, viewer.id(), &changes).await?;
            close_other_sessions(conn, viewer).await
        })
        .await?;
    forget_user(app, viewer.id()).await;
    Ok(())
}

/// An admin edits an account. The last active admin keeps their role and access.
pub async fn update_account(
    app: &App,
    admin: &AdminViewer,
    id: &str,
    changes: AccountChanges,
) -> AppResult<UserRow> {
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
    let row_changes = UserChanges {
        username,
        email,
        role: changes.role,
        active: changes.active,
        updated_at: Some(now()),
        ..UserChanges::default()
    };
    let (after, notifications) = app
        .db
        .transaction(async |conn| {
            UserRow::find_by_id(conn, id)
                .await?
                .ok_or(AppError::NotFound("user"))?;
            ensure_unused(
                conn,
                row_changes.username.as_deref().unwrap_or(""),
                row_changes.email.as_deref().unwrap_or(""),
                Some(id),
            )
            .await?;
            let outcome =
                UserRow::update_keeping_an_admin(conn, admin.viewer().id(), id, &row_changes)
                    .await
                    .map_err(taken_or_failed)?;
            let (before, after) = admin_rule_result(
                outcome,
                "the last active admin cannot be demoted or deactivated",
            )?;
            let summary = change_summary(&before, &after);
            record_admin_change(conn, admin, "user.update", id, summary).await?;
            let notifications = store_account_notifications(conn, &before, &after).await?;
            Ok::<_, AppError>((after, notifications))
        })
        .await?;
    forget_user(app, id).await;
    for notification in &notifications {
        notifications::service::publish(app, notification).await;
    }
    Ok(after)
}

/// An admin deletes an account. The last active admin cannot be deleted.
pub async fn delete_account(app: &App, admin: &AdminViewer, id: &str) -> AppResult<UserRow> {
    let deleted = app
        .db
        .transaction(async |conn| {
            let outcome = UserRow::delete_keeping_an_admin(conn, admin.viewer().id(), id).await?;
            let deleted = admin_rule_result(outcome, "the last active admin cannot be deleted")?;
            let summary = format!("deleted account '{}'", deleted.username);
            record_admin_change(conn, admin, "user.delete", id, summary).await?;
            Ok::<_, AppError>(deleted)
        })
        .await?;
    forget_user(app, id).await;
    Ok(deleted)
}

/// Records an admin's change to the account `user_id` (an entry of no project).
async fn record_admin_change(
    conn: &mut Conn,
    admin: &AdminViewer,
    action: &str,
    user_id: &str,
    summary: String,
) -> DbResult<()> {
    let event = AuditEvent {
        project_id: None,
        action,
        object_type: "user",
        object_id: user_id,
        summary,
    };
    audit::record(conn, admin.viewer(), event).await
}

/// What an admin's edit changed, for the audit trail (no addresses or hashes).
fn change_summary(before: &UserRow, after: &UserRow) -> String {
    let mut changed = Vec::new();
    if before.username != after.username {
        changed.push(format!("username '{}'", after.username));
    }
    if before.email != after.email {
        changed.push("email".to_owned());
    }
    if before.role != after.role {
        changed.push(format!("role {}", after.role));
    }
    if before.active != after.active {
        changed.push(
            if after.active {
                "activated"
            } else {
                "deactivated"
            }
            .to_owned(),
        );
    }
    if changed.is_empty() {
        changed.push("nothing".to_owned());
    }
    format!(
        "changed account '{}': {}",
        before.username,
        changed.join(", ")
    )
}

/// The written value, or the error a refused write under the last-admin rule answers.
fn admin_rule_result<T>(outcome: AdminRuleOutcome<T>, last_admin: &str) -> AppResult<T> {
    match outcome {
        AdminRuleOutcome::Done(value) => Ok(value),
        AdminRuleOutcome::NotFound => Err(AppError::NotFound("user")),
        AdminRuleOutcome::LastAdmin => Err(AppError::Conflict(last_admin.to_owned())),
        AdminRuleOutcome::ActorNoLongerAdmin => {
            Err(AppError::Forbidden("only admins may do this".into()))
        }
    }
}

/// The answer to a wrong password: plain, or rate-limited past the account's limit.
fn refused_login(admission: LoginAdmission) -> AppError {
    match admission {
        LoginAdmission::Open => AppError::Unauthenticated("wrong login or password".into()),
        LoginAdmission::Paced { retry_after_secs } => AppError::RateLimited { retry_after_secs },
    }
}

/// `CONFLICT` for a username or email another account took meanwhile.
fn taken_or_failed(error: DbError) -> AppError {
    if error.is_unique_violation() {
        AppError::Conflict("username or email is already taken".into())
    } else {
        error.into()
    }
}

async fn record_login(conn: &mut Conn, user: UserRow) -> AppResult<UserRow> {
    let changes = UserChanges {
        last_login_at: Some(now()),
        ..UserChanges::default()
    };
    Ok(UserRow::update(conn, &user.id, &changes)
        .await?
        .unwrap_or(user))
}

/// `CONFLICT` when another account (not `except_id`) has this username or email.
async fn ensure_unused(
    conn: &mut Conn,
    username: &str,
    email: &str,
    except_id: Option<&str>,
) -> AppResult<()> {
    let other = |user: &UserRow| Some(user.id.as_str()) != except_id;
    if !username.is_empty() {
        let holder = UserRow::find_by_username_or_email(conn, username).await?;
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
        let holder = UserRow::find_by_username_or_email(conn, email).await?;
        if holder.filter(|u| other(u) && u.email == email).is_some() {
            return Err(AppError::Conflict("email is already registered".into()));
        }
    }
    Ok(())
}

/// Stores what tells a user that an admin changed their role or access; the
/// caller publishes it after the commit.
async fn store_account_notifications(
    conn: &mut Conn,
    before: &UserRow,
    after: &UserRow,
) -> DbResult<Vec<NotificationRow>> {
    let mut stored = Vec::new();
    if before.role != after.role {
        let message = format!("An admin changed your role to {}.", after.role);
        let kind = NotificationKind::RoleChanged;
        stored.push(notifications::service::store(conn, &after.id, kind, message).await?);
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
        let message = message.to_owned();
        stored.push(notifications::service::store(conn, &after.id, kind, message).await?);
    }
    Ok(stored)
}
