//! How often a client may register, and how often an account's password may be tried.
//!
//! - Registration: `TIDEWATCH_REGISTER_LIMIT_PER_ADDRESS` per client address and window.
//! - Login: `TIDEWATCH_LOGIN_LIMIT_PER_ADDRESS` per client address, and
//!   `TIDEWATCH_LOGIN_LIMIT_PER_NAME` per account, whether the username or the email
//!   names it. A name that matches no account is counted on its own, so unknown and
//!   known names get the same answers at the same speed.
//! - Past an account's limit a wrong password is `RATE_LIMITED`, but one check per
//!   `TIDEWATCH_LOGIN_LOCKOUT_PACE` seconds still runs: someone who keeps guessing a
//!   name cannot lock its owner out, at the price of one more guess per pace.

use std::net::IpAddr;
use std::time::Duration;

use crate::app::App;
use crate::error::AppResult;

use super::rate_limit::Allowance;

/// Whose counter a login attempt counts against.
#[derive(Debug, Clone, Copy)]
pub enum LoginSubject<'a> {
    /// An existing account, by id.
    Account(&'a str),
    /// A login name that matches no account, lower-cased.
    UnknownName(&'a str),
}

/// How a login attempt may go on once it is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAdmission {
    /// Within the limit: the password decides.
    Open,
    /// Over the limit, on the slow pace: only a correct password gets in; a wrong one
    /// is refused as rate-limited, with this hint.
    Paced {
        /// Seconds until the next paced check.
        retry_after_secs: u64,
    },
}

/// Counts a registration from `client`; `RATE_LIMITED` over the address's limit.
pub async fn admit_registration(app: &App, client: Option<IpAddr>) -> AppResult<()> {
    let Some(client) = client else {
        return Ok(());
    };
    let limits = &app.config.auth;
    app.rate_limiter
        .hit(
            &format!("register:addr:{client}"),
            limits.register_limit_per_address,
            Duration::from_secs(limits.register_window),
        )
        .await
}

/// Counts a login attempt from `client`; `RATE_LIMITED` over the address's limit.
pub async fn admit_login_from(app: &App, client: Option<IpAddr>) -> AppResult<()> {
    let Some(client) = client else {
        return Ok(());
    };
    let limits = &app.config.auth;
    app.rate_limiter
        .hit(
            &format!("login:addr:{client}"),
            limits.login_limit_per_address,
            Duration::from_secs(limits.login_window),
        )
        .await
}

/// Counts a login attempt against `subject`; `RATE_LIMITED` over its limit unless the
/// slow pace allows one more check.
pub async fn admit_login_to(app: &App, subject: LoginSubject<'_>) -> AppResult<LoginAdmission> {
    let limits = &app.config.auth;
    let key = match subject {
        LoginSubject::Account(id) => format!("login:account:{id}"),
        LoginSubject::UnknownName(name) => format!("login:name:{name}"),
    };
    let window = Duration::from_secs(limits.login_window);
    let counted = app
        .rate_limiter
        .count(&key, limits.login_limit_per_name, window)
        .await?;
    if counted == Allowance::Allowed {
        return Ok(LoginAdmission::Open);
    }
    let pace = Duration::from_secs(limits.login_lockout_pace);
    app.rate_limiter
        .hit(&format!("{key}:paced"), 1, pace)
        .await?;
    Ok(LoginAdmission::Paced {
        retry_after_secs: limits.login_lockout_pace.max(1),
    })
}
