//! The errors every server function can return, and the field errors in them.
use serde::{Deserialize, Serialize};
use std::fmt;

/// A message about one form field, shown beside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The name of the form field (the server function argument).
    pub field: String,
    pub message: String,
}

/// Every error a server function can return. The browser shows field errors
/// beside their fields and everything else as a message above the form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppError {
    /// Bad input; nothing was changed.
    Invalid(Vec<FieldError>),
    /// No valid session (or API key).
    Unauthenticated,
    /// Signed in, but not allowed to do this.
    Forbidden(String),
    /// Not found in the actor's account (also what another account's ids give).
    NotFound,
    /// Too many attempts; try again later.
    TooManyRequests(String),
    /// Allowed, but the current state does not permit it (a plan's limit, an
    /// empty stock); nothing was changed.
    Conflict(String),
    /// Something failed on the server; details are in the server log only.
    Internal,
    /// Transport or encoding failure between browser and server.
    Transport(String),
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError { field: field.into(), message: message.into() }])
    }

    /// The message for one field, if the error names it.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid(errors) => {
                errors.iter().find(|e| e.field == field).map(|e| e.message.clone())
            }
            _ => None,
        }
    }

    /// The stable machine-readable code the JSON API answers with (part of
    /// its contract).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::Conflict(_) => "conflict",
            AppError::Internal | AppError::Transport(_) => "internal",
        }
    }

    /// The HTTP status of this error, for server functions (see
    /// `security::server_fn_error_status` in the server) and the JSON API alike.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 422,
            AppError::Unauthenticated => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound => 404,
            AppError::TooManyRequests(_) => 429,
            AppError::Conflict(_) => 409,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Invalid(errors) if errors.len() == 1 => write!(f, "{}", errors[0].message),
            AppError::Invalid(_) => write!(f, "Please correct the highlighted fields."),
            AppError::Unauthenticated => write!(f, "Please log in."),
            AppError::Forbidden(why) => write!(f, "{why}"),
            AppError::NotFound => write!(f, "Not found."),
            AppError::TooManyRequests(why) | AppError::Conflict(why) => write!(f, "{why}"),
            AppError::Internal => write!(f, "Something went wrong on our side. Please try again."),
            AppError::Transport(_) => write!(f, "Could not reach the server. Please try again."),
        }
    }
}

impl std::error::Error for AppError {}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            // A missing or malformed argument is the caller's bad input.
            E::Args(why) | E::MissingArg(why) => AppError::field("form", why),
            // On the server, a body that does not decode (JSON without a
            // field) is too; in the browser it is an answer that did not,
            // which is the transport's failure.
            #[cfg(feature = "ssr")]
            E::Deserialization(why) => {
                AppError::field("form", format!("The request could not be read: {why}"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}
