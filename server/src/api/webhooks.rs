//! `POST /webhooks/stripe`: events from Stripe, signature checked with `STRIPE_WEBHOOK_SECRET`.

use app::payments::webhooks::{Handled, handle_event, verify_signature};
use app::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::{ApiError, error_response};

/// The webhook secret (none: webhooks are refused, as nothing could be verified).
#[derive(Clone)]
pub struct WebhookSecret(pub Option<String>);

pub async fn stripe(State(state): State<AppState>, Extension(secret): Extension<WebhookSecret>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = secret.0 else {
        return error_response(StatusCode::NOT_FOUND, "not_found", "Stripe webhooks are not configured on this server (STRIPE_WEBHOOK_SECRET).");
    };
    let header = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Err(why) = verify_signature(&secret, header, &body, chrono::Utc::now().timestamp()) {
        tracing::warn!(why = %why, "refused a webhook");
        return error_response(StatusCode::BAD_REQUEST, "bad_signature", &format!("The webhook signature is not valid: {why}."));
    }
    let Ok(payload) = std::str::from_utf8(&body) else {
        return error_response(StatusCode::BAD_REQUEST, "bad_request", "The event is not UTF-8 JSON.");
    };
    match handle_event(&state, payload).await {
        Ok(h) => Json(serde_json::json!({ "received": true, "duplicate": h == Handled::Duplicate })).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}
