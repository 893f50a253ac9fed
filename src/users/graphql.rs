//! GraphQL for accounts: `me`, `user`, `users`, and the admin mutations.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::connection_names;
use crate::error::{AppError, GqlResult};
use crate::graphql::pagination::{page_complexity, CursorConnection, PageRequest};
use crate::graphql::{utc, ContextExt};

use super::model::{Role, UserFilter, UserRow};
use super::service::{self, AccountChanges, NewAccount};

connection_names!(UserConnection, UserEdge);

/// An account, as the API shows it.
pub struct User(pub UserRow);

/// An account. The password hash is never exposed.
#[Object]
impl User {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Login name, 3–32 characters of `[A-Za-z0-9_.-]`, unique regardless of case.
    async fn username(&self) -> &str {
        &self.0.username
    }

    /// Email address, stored lower-case.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// Global role.
    async fn role(&self) -> Role {
        self.0.role()
    }

    /// False once an admin deactivates the account: it can no longer log in or use tokens.
    async fn active(&self) -> bool {
        self.0.active
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// When the user last logged in or registered, if ever.
    async fn last_login_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_login_at.map(utc)
    }
}

/// Narrows the `users` list.
#[derive(InputObject, Default)]
pub struct UserFilterInput {
    /// Part of the username or email, case-insensitive.
    search: Option<String>,
    /// Only users with this role.
    role: Option<Role>,
    /// Only active (true) or deactivated (false) users.
    active: Option<bool>,
}

/// Account queries.
#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The caller's own account.
    async fn me(&self, ctx: &Context<'_>) -> GqlResult<User> {
        Ok(User(ctx.viewer().await?.user))
    }

    /// One account by id; `NOT_FOUND` for an unknown id.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's id.")] id: ID,
    ) -> GqlResult<Option<User>> {
        ctx.viewer().await?;
        let user = UserRow::find_by_id(&ctx.app().db, &id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        Ok(Some(User(user)))
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
        ctx.viewer().await?;
        let page = PageRequest::new(first, after)?;
        let filter = filter.unwrap_or_default();
        let filter = UserFilter {
            search: filter.search,
            role: filter.role,
            active: filter.active,
        };
        let db = &ctx.app().db;
        let rows = UserRow::page(db, &filter, page.after_id.as_deref(), page.fetch_limit()).await?;
        let total = UserRow::count_matching(db, &filter).await?;
        Ok(page.connection(rows, total, |row| &row.id, User))
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
        ctx.viewer().await?.require_admin()?;
        let account = NewAccount {
            username: input.username,
            email: input.email,
            password: input.password,
        };
        let user =
            service::create_account(ctx.app(), account, input.role.unwrap_or(Role::User)).await?;
        Ok(UserPayload { user: User(user) })
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
        Ok(UserPayload { user: User(user) })
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
