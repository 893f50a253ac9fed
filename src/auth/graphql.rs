//! GraphQL for sessions: register, login, refresh, logout, change password.

use async_graphql::{Context, InputObject, Object, SimpleObject};

use crate::error::GqlResult;
use crate::graphql::ContextExt;
use crate::users::graphql::User;
use crate::users::service::{self as accounts, NewAccount};

use super::service::{self, IssuedTokens};

/// Tokens for a new or renewed session.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Bearer token for `Authorization: Bearer …`; short-lived.
    access_token: String,
    /// Single-use token that `refreshToken` trades for a new pair.
    refresh_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// The account the tokens belong to.
    user: User,
}

impl From<IssuedTokens> for AuthPayload {
    fn from(tokens: IssuedTokens) -> Self {
        Self {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            token_type: "Bearer".to_owned(),
            expires_in: tokens.expires_in,
            user: User::own(tokens.user),
        }
    }
}

/// Input of `register`.
#[derive(InputObject)]
pub struct RegisterInput {
    /// Login name, 3–32 characters of `[A-Za-z0-9_.-]`.
    username: String,
    /// Email address.
    email: String,
    /// At least 8 characters.
    #[graphql(secret)]
    password: String,
}

/// Input of `login`.
#[derive(InputObject)]
pub struct LoginInput {
    /// Username or email.
    login: String,
    /// The account's password.
    #[graphql(secret)]
    password: String,
}

/// Input of `refreshToken`.
#[derive(InputObject)]
pub struct RefreshTokenInput {
    /// The refresh token from the last `AuthPayload`.
    #[graphql(secret)]
    refresh_token: String,
}

/// Input of `changePassword`.
#[derive(InputObject)]
pub struct ChangePasswordInput {
    /// The password in use now.
    #[graphql(secret)]
    current_password: String,
    /// The new password, at least 8 characters.
    #[graphql(secret)]
    new_password: String,
}

/// Result of `logout`.
#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// True once the session's tokens are revoked.
    success: bool,
}

/// Result of `changePassword`.
#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    /// The account. Its other sessions have been ended.
    user: User,
}

/// Session mutations.
#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Opens an account and a session. The first account ever becomes `ADMIN`.
    /// Rate-limited per client address.
    async fn register(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new account.")] input: RegisterInput,
    ) -> GqlResult<AuthPayload> {
        let account = NewAccount {
            username: input.username,
            email: input.email,
            password: input.password,
        };
        Ok(accounts::register(ctx.app(), account, ctx.client_addr())
            .await?
            .into())
    }

    /// Opens a session with a username or email and a password. Rate-limited per client
    /// address and per account; past an account's limit, a correct password still gets
    /// in at a slow pace while wrong ones are `RATE_LIMITED`.
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Login name or email, and password.")] input: LoginInput,
    ) -> GqlResult<AuthPayload> {
        let tokens =
            accounts::login(ctx.app(), &input.login, input.password, ctx.client_addr()).await?;
        Ok(tokens.into())
    }

    /// Trades a refresh token for a new pair. Each refresh token works once;
    /// presenting a used one again ends the whole session.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token to trade.")] input: RefreshTokenInput,
    ) -> GqlResult<AuthPayload> {
        Ok(service::refresh_session(ctx.app(), &input.refresh_token)
            .await?
            .into())
    }

    /// Ends the caller's session: its refresh token and access tokens stop working.
    async fn logout(&self, ctx: &Context<'_>) -> GqlResult<LogoutPayload> {
        let viewer = ctx.viewer().await?;
        service::close_session(ctx.app(), &viewer).await?;
        Ok(LogoutPayload { success: true })
    }

    /// Changes the caller's password and ends their other sessions.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Current and new password.")] input: ChangePasswordInput,
    ) -> GqlResult<ChangePasswordPayload> {
        let viewer = ctx.viewer().await?;
        accounts::change_password(
            ctx.app(),
            &viewer,
            input.current_password,
            input.new_password,
        )
        .await?;
        Ok(ChangePasswordPayload {
            user: User::own(viewer.user),
        })
    }
}
