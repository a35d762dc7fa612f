//! The error a page or server function shows a person. Internals are logged on the server and
//! never sent; what crosses the wire is a kind plus a message that is safe to show.

use std::collections::BTreeMap;

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    /// One bad parameter or field.
    #[error("{message}")]
    BadRequest { field: String, message: String },
    /// A form with one or more bad fields: field name → what is wrong.
    #[error("Please correct the marked fields.")]
    Invalid(BTreeMap<String, String>),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// The request cannot be applied as sent (e.g. an idempotency key reused for another body).
    #[error("{0}")]
    Unprocessable(String),
    /// The card was declined; the order stays payable with another card.
    #[error("{0}")]
    PaymentDeclined(String),
    /// A flash sale has no units left for this buy.
    #[error("{0}")]
    SoldOut(String),
    /// A buy without a valid admission token from the waiting room.
    #[error("{0}")]
    NotAdmitted(String),
    /// Over the sale's per-buyer limit.
    #[error("{0}")]
    LimitExceeded(String),
    /// A store this request needs (the flash sale's Redis) cannot be reached right now.
    #[error("{message}")]
    Unavailable { message: String, retry_after_secs: u64 },
    #[error("Too many attempts. Please wait {retry_after_secs} seconds and try again.")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
    #[error("Could not reach the shop: {0}")]
    Transport(String),
}

impl AppError {
    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }

    pub fn bad(field: &str, message: impl Into<String>) -> Self {
        AppError::BadRequest { field: field.to_owned(), message: message.into() }
    }

    pub fn unauthorized() -> Self {
        AppError::Unauthorized("Please sign in first.".to_owned())
    }

    /// A store the request needs cannot be reached right now: 503, try again in 2 seconds.
    pub fn unavailable() -> Self {
        AppError::Unavailable { message: "This part of the shop is not reachable right now. Nothing was changed; try again in a few seconds.".to_owned(), retry_after_secs: 2 }
    }

    pub fn forbidden() -> Self {
        AppError::Forbidden("You do not have access to this.".to_owned())
    }

    /// The one mapping of an error to its HTTP meaning (with `retry_after` and `code`): REST,
    /// server functions and pages all answer through it.
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotFound(_) => 404,
            AppError::BadRequest { .. } | AppError::Invalid(_) => 400,
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::Conflict(_) | AppError::SoldOut(_) => 409,
            AppError::NotAdmitted(_) => 403,
            AppError::Unprocessable(_) | AppError::LimitExceeded(_) => 422,
            AppError::Unavailable { .. } => 503,
            AppError::PaymentDeclined(_) => 402,
            AppError::TooManyRequests { .. } => 429,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }

    /// Seconds to wait before trying again (`Retry-After`), for the errors that have one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests { retry_after_secs } | AppError::Unavailable { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// Stable machine-readable code of the REST error body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "not_found",
            AppError::BadRequest { .. } | AppError::Invalid(_) => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::Conflict(_) => "conflict",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::SoldOut(_) => "sold_out",
            AppError::NotAdmitted(_) => "not_admitted",
            AppError::LimitExceeded(_) => "limit_exceeded",
            AppError::Unavailable { .. } => "unavailable",
            AppError::PaymentDeclined(_) => "card_declined",
            AppError::TooManyRequests { .. } => "rate_limited",
            AppError::Internal | AppError::Transport(_) => "internal",
        }
    }

    /// Field name → message, for forms that show errors next to their inputs.
    pub fn fields(&self) -> BTreeMap<String, String> {
        match self {
            AppError::BadRequest { field, message } => BTreeMap::from([(field.clone(), message.clone())]),
            AppError::Invalid(fields) => fields.clone(),
            _ => BTreeMap::new(),
        }
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.fields().remove(name)
    }
}

/// Collects field errors; `finish` is Ok when there were none.
#[derive(Default)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.entry(field.to_owned()).or_insert_with(|| message.into());
    }

    /// The value, or `None` with the error's message recorded against `field`.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        result.map_err(|e| self.add(field, e.to_string())).ok()
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() { Ok(()) } else { Err(AppError::Invalid(self.0)) }
    }
}

/// The status line and headers of an error response, from `status` and `retry_after`.
#[cfg(feature = "ssr")]
impl AppError {
    pub fn http_parts(&self) -> (axum::http::StatusCode, axum::http::HeaderMap) {
        let status = axum::http::StatusCode::from_u16(self.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut headers = axum::http::HeaderMap::new();
        if let Some(secs) = self.retry_after() {
            headers.insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        (status, headers)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server: the request's arguments could not be read (a field missing or not
            // of its type). That is the caller's to fix: a 400 naming the argument.
            ServerFnErrorErr::Args(detail) | ServerFnErrorErr::MissingArg(detail) | ServerFnErrorErr::Deserialization(detail) if cfg!(feature = "ssr") => {
                AppError::bad(&argument_named(&detail), format!("Part of what was sent could not be read ({detail}). Check the form and try again."))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

/// The argument a decoding error names (serde writes it between backticks), or `arguments`.
fn argument_named(detail: &str) -> String {
    detail
        .split('`')
        .nth(1)
        .filter(|name| !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or("arguments")
        .to_owned()
}

/// Database failures are internal: logged here, never shown.
#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        tracing::error!(error = %e, "database error");
        AppError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            // Redis away (restarting, a network blip): 503 with Retry-After, not a 500.
            crate::store::StoreError::Redis(e) => {
                tracing::warn!(error = %e, "redis unreachable");
                AppError::unavailable()
            }
            e => {
                tracing::error!(error = %e, "store error");
                AppError::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        match e {
            // The session store (Redis, or the database) did not answer.
            tower_sessions::session::Error::Store(e) => {
                tracing::warn!(error = %e, "session store unreachable");
                AppError::unavailable()
            }
            e => {
                tracing::error!(error = %e, "session error");
                AppError::Internal
            }
        }
    }
}
