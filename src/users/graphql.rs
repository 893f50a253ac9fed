//! GraphQL for accounts: `me`, `user`, `users`, and the admin mutations.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use crate::connection_names;
use crate::error::{AppError, GqlResult};
use crate::graphql::pagination::{page_complexity, CursorConnection, PageRequest};
use crate::graphql::{utc, ContextExt};

use super::model::{Role, UserFilter, UserRow};
use super::service::{self, AccountChanges, NewAccount};

connection_names!(UserConnection, UserEdge);

/// An account, as the API shows it to one caller.
///
/// Anyone signed in sees every account's `id` and `username`. The personal fields
/// (`email`, `role`, `active`, `createdAt`, `lastLoginAt`) are for admins and the
/// user themself; for anyone else they read null, whichever path led to the account.
pub struct User {
    row: UserRow,
    /// Whether the caller may read the personal fields, decided once per object.
    personal: OnceCell<bool>,
}

impl User {
    /// An account reached through any path: its personal fields follow the caller.
    pub fn new(row: UserRow) -> Self {
        Self {
            row,
            personal: OnceCell::new(),
        }
    }

    /// The caller's own account, where the caller is known to be its owner even
    /// before presenting a token (`register`, `login`, `me`).
    pub fn own(row: UserRow) -> Self {
        Self {
            row,
            personal: OnceCell::new_with(Some(true)),
        }
    }

    /// `read` of the row for admins and the user themself; null for anyone else.
    async fn personal<'a, T>(
        &'a self,
        ctx: &Context<'_>,
        read: impl FnOnce(&'a UserRow) -> T,
    ) -> GqlResult<Option<T>> {
        let visible = self
            .personal
            .get_or_try_init(|| async {
                match ctx.viewer().await {
                    Ok(viewer) => Ok(viewer.is_admin() || viewer.id() == self.row.id),
                    Err(AppError::Unauthenticated(_)) => Ok(false),
                    Err(error) => Err(error),
                }
            })
            .await?;
        Ok(visible.then(|| read(&self.row)))
    }
}

/// An account. The password hash is never exposed; the personal fields read null
/// unless the caller is an admin or this user.
#[Object]
impl User {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }

    /// Login name, 3–32 characters of `[A-Za-z0-9_.-]`, unique regardless of case.
    async fn username(&self) -> &str {
        &self.row.username
    }

    /// Email address, stored lower-case. Null unless the caller is an admin or this user.
    async fn email(&self, ctx: &Context<'_>) -> GqlResult<Option<&str>> {
        self.personal(ctx, |row| row.email.as_str()).await
    }

    /// Global role. Null unless the caller is an admin or this user.
    async fn role(&self, ctx: &Context<'_>) -> GqlResult<Option<Role>> {
        self.personal(ctx, |user| user.role).await
    }

    /// False once an admin deactivates the account: it can no longer log in or use tokens.
    /// Null unless the caller is an admin or this user.
    async fn active(&self, ctx: &Context<'_>) -> GqlResult<Option<bool>> {
        self.personal(ctx, |row| row.active).await
    }

    /// When the account was created. Null unless the caller is an admin or this user.
    async fn created_at(&self, ctx: &Context<'_>) -> GqlResult<Option<DateTime<Utc>>> {
        self.personal(ctx, |row| utc(row.created_at)).await
    }

    /// When the user last logged in or registered; null if never, and unless the caller
    /// is an admin or this user.
    async fn last_login_at(&self, ctx: &Context<'_>) -> GqlResult<Option<DateTime<Utc>>> {
        Ok(self
            .personal(ctx, |row| row.last_login_at.map(utc))
            .await?
            .flatten())
    }
}

/// Narrows the `users` list.
#[derive(InputObject, Default)]
pub struct UserFilterInput {
    /// Part of the username, case-insensitive; for admins, part of the email too.
    search: Option<String>,
    /// Only users with this role (admins only; `FORBIDDEN` for others).
    role: Option<Role>,
    /// Only active (true) or deactivated (false) users (admins only; `FORBIDDEN` for others).
    active: Option<bool>,
}

/// Account queries.
#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The caller's own account.
    async fn me(&self, ctx: &Context<'_>) -> GqlResult<User> {
        Ok(User::own(ctx.viewer().await?.user))
    }

    /// One account by id; `NOT_FOUND` for an unknown id.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's id.")] id: ID,
    ) -> GqlResult<Option<User>> {
        ctx.viewer().await?;
        let user = UserRow::find_by_id(&mut ctx.app().db.conn().await?, &id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        Ok(Some(User::new(user)))
    }

    /// Accounts, oldest first, as a cursor connection.
    #[graphql(complexity = "page_complexity(child_complexity, first)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
        #[graphql(desc = "Which accounts to list.")] filter: Option<UserFilterInput>,
    ) -> GqlResult<CursorConnection<User, UserConnection, UserEdge>> {
        let viewer = ctx.viewer().await?;
        let page = PageRequest::new(first, after)?;
        let filter = filter.unwrap_or_default();
        if !viewer.is_admin() && (filter.role.is_some() || filter.active.is_some()) {
            return Err(AppError::Forbidden(
                "only admins may filter users by role or active flag".into(),
            )
            .into());
        }
        let filter = UserFilter {
            search: filter.search,
            search_emails: viewer.is_admin(),
            role: filter.role,
            active: filter.active,
        };
        let mut conn = ctx.app().db.conn().await?;
        let rows = UserRow::page(
            &mut conn,
            &filter,
            page.after_id.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let total = UserRow::count_matching(&mut conn, &filter).await?;
        Ok(page.connection(rows, total, |row| &row.id, User::new))
    }
}

/// Input of `createUser`.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Login name, 3–32 characters of `[A-Za-z0-9_.-]`.
    username: String,
    /// Email address.
    email: String,
    /// At least 8 characters.
    #[graphql(secret)]
    password: String,
    /// Role of the new account (default `USER`).
    role: Option<Role>,
}

/// Input of `updateUser`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateUserInput {
    /// The account to change.
    id: ID,
    /// New login name.
    username: Option<String>,
    /// New email address.
    email: Option<String>,
    /// New role. The last active admin cannot be demoted.
    role: Option<Role>,
    /// Activate or deactivate. The last active admin cannot be deactivated.
    active: Option<bool>,
}

/// Input of `deleteUser`.
#[derive(InputObject)]
pub struct DeleteUserInput {
    /// The account to delete.
    id: ID,
}

/// Result of a mutation that changes an account.
#[derive(SimpleObject)]
pub struct UserPayload {
    /// The account as it is now.
    user: User,
}

/// Result of `deleteUser`.
#[derive(SimpleObject)]
pub struct DeleteUserPayload {
    /// Id of the deleted account.
    deleted_user_id: ID,
}

/// Admin-only account management.
#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Creates an account (admins only).
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new account.")] input: CreateUserInput,
    ) -> GqlResult<UserPayload> {
        let admin = ctx.viewer().await?.require_admin()?;
        let account = NewAccount {
            username: input.username,
            email: input.email,
            password: input.password,
        };
        let role = input.role.unwrap_or(Role::User);
        let user = service::create_account_as_admin(ctx.app(), &admin, account, role).await?;
        Ok(UserPayload {
            user: User::new(user),
        })
    }

    /// Changes an account (admins only). The user is notified of role and access changes.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and the fields to change.")] input: UpdateUserInput,
    ) -> GqlResult<UserPayload> {
        let admin = ctx.viewer().await?.require_admin()?;
        let changes = AccountChanges {
            username: input.username,
            email: input.email,
            role: input.role,
            active: input.active,
        };
        let user = service::update_account(ctx.app(), &admin, &input.id, changes).await?;
        Ok(UserPayload {
            user: User::new(user),
        })
    }

    /// Deletes an account (admins only). The last active admin cannot be deleted.
    async fn delete_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account to delete.")] input: DeleteUserInput,
    ) -> GqlResult<DeleteUserPayload> {
        let admin = ctx.viewer().await?.require_admin()?;
        let deleted = service::delete_account(ctx.app(), &admin, &input.id).await?;
        Ok(DeleteUserPayload {
            deleted_user_id: ID(deleted.id),
        })
    }
}
