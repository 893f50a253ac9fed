//! The one error type at the API edge.
//!
//! Every resolver and REST handler returns [`AppError`]; it maps to a fixed
//! list of `extensions.code` values and HTTP statuses. Internal errors keep
//! their detail for the log and show clients only a generic message.

use async_graphql::ErrorExtensions;
use poem::http::StatusCode;

use crate::db::DbError;

/// An error a client may see.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid credentials were presented.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The object does not exist, or the caller may not know it exists.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input is wrong; `field` names the input field at fault.
    #[error("{message}")]
    BadInput {
        /// Input field at fault, in GraphQL spelling.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The request clashes with the current state (duplicates, last admin …).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; retry after the given number of seconds.
    #[error("too many attempts, retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the next attempt may succeed.
        retry_after_secs: u64,
    },
    /// Anything unexpected. The detail is logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// Result of an API-edge operation.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// Bad input for `field`.
    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        Self::BadInput {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// Wraps any unexpected error.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    /// The `extensions.code` value.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The HTTP status for REST responses.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadInput { .. } => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<DbError> for AppError {
    fn from(error: DbError) -> Self {
        Self::Internal(error.into())
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(source) = self {
            tracing::error!(error = ?source, "internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, extensions| {
            extensions.set("code", self.code());
            match self {
                Self::BadInput { field, .. } => extensions.set("field", field.as_str()),
                Self::RateLimited { retry_after_secs } => {
                    extensions.set("retryAfter", *retry_after_secs)
                }
                _ => {}
            }
        })
    }
}

/// What resolvers return as their error: an [`AppError`] already carrying its code.
///
/// `AppError` converts into this (and not straight into `async_graphql::Error`,
/// whose blanket conversion from any `Display` would drop the code), so `?` in a
/// resolver always keeps `extensions.code`.
#[derive(Debug, Clone)]
pub struct GraphqlError(pub async_graphql::Error);

/// Result of a resolver.
pub type GqlResult<T> = Result<T, GraphqlError>;

impl From<AppError> for GraphqlError {
    fn from(error: AppError) -> Self {
        Self(error.extend())
    }
}

impl From<DbError> for GraphqlError {
    fn from(error: DbError) -> Self {
        AppError::from(error).into()
    }
}

impl From<GraphqlError> for async_graphql::Error {
    fn from(error: GraphqlError) -> Self {
        error.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extension(error: AppError, key: &str) -> Option<async_graphql::Value> {
        let graphql: async_graphql::Error = GraphqlError::from(error).into();
        graphql.extensions.and_then(|ext| ext.get(key).cloned())
    }

    #[test]
    fn every_variant_maps_to_its_code_and_status() {
        let cases = [
            (
                AppError::Unauthenticated("x".into()),
                "UNAUTHENTICATED",
                401,
            ),
            (AppError::Forbidden("x".into()), "FORBIDDEN", 403),
            (AppError::NotFound("user"), "NOT_FOUND", 404),
            (AppError::bad_input("email", "bad"), "BAD_USER_INPUT", 400),
            (AppError::Conflict("x".into()), "CONFLICT", 409),
            (
                AppError::RateLimited {
                    retry_after_secs: 3,
                },
                "RATE_LIMITED",
                429,
            ),
            (
                AppError::internal(anyhow::anyhow!("db down")),
                "INTERNAL",
                500,
            ),
        ];
        for (error, code, status) in cases {
            assert_eq!(error.status().as_u16(), status, "{code}");
            assert_eq!(
                extension(error, "code"),
                Some(async_graphql::Value::from(code))
            );
        }
    }

    #[test]
    fn bad_input_names_the_field_and_rate_limit_the_delay() {
        assert_eq!(
            extension(AppError::bad_input("password", "too short"), "field"),
            Some(async_graphql::Value::from("password"))
        );
        assert_eq!(
            extension(
                AppError::RateLimited {
                    retry_after_secs: 7
                },
                "retryAfter"
            ),
            Some(async_graphql::Value::from(7))
        );
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let graphql: async_graphql::Error = GraphqlError::from(AppError::internal(
            anyhow::anyhow!("password_hash column missing"),
        ))
        .into();
        assert_eq!(graphql.message, "internal error");
    }
}
