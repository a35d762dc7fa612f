//! Page functions (`/api/fn/*`, Leptos server functions) answer errors with the statuses the
//! REST edge uses. The server-function runtime sends every error as 500 with its body (our
//! `AppError` as JSON) and a `serverfnerror` header; this layer reads that body and sets the
//! status from the one mapping, `AppError::http_parts` (401, 403, 404, 400 with the fields,
//! 409, 422, 429 with `Retry-After`…). The browser's side reads the error from any 4xx or 5xx,
//! so it sees the same error as before. A plain form post that was sent back to its page (302)
//! is left as it is.

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use app::error::AppError;

/// The header the server-function runtime puts on an error answer.
const SERVER_FN_ERROR: &str = "serverfnerror";
/// An error body is one small JSON value; anything larger is not ours and is left alone.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn answer_like_rest(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR || !response.headers().contains_key(SERVER_FN_ERROR) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        tracing::error!(path = ?parts.headers.get(SERVER_FN_ERROR), "a page function's error body could not be read");
        return Response::from_parts(parts, Body::empty());
    };
    match serde_json::from_slice::<AppError>(&bytes) {
        Ok(error) => {
            let (status, headers) = error.http_parts();
            parts.status = status;
            // A real fault was logged where it happened; a 4xx is the caller's, not ours.
            parts.headers.extend(headers);
        }
        Err(e) => tracing::error!(error = %e, "a page function's error is not an AppError"),
    }
    Response::from_parts(parts, Body::from(bytes))
}
