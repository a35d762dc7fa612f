//! The error a page or server function shows a person. Internals are logged on the server and
//! never sent; what crosses the wire is a kind plus a message that is safe to show.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    BadRequest { field: String, message: String },
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

    pub fn status(&self) -> u16 {
        match self {
            AppError::NotFound(_) => 404,
            AppError::BadRequest { .. } => 400,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
