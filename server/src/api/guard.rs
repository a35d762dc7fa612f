//! Request guards shared by every route: who is calling (and may they), cross-site writes,
//! and JSON bodies that fail with a message a person can act on.

use app::accounts::{CurrentUser, Need, authorize, session};
use app::error::AppError;
use app::state::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tower_sessions::Session;

use super::{ApiError, error_response};

/// The caller of a REST route, signed in or not. Routes say what they need with `require`,
/// which asks the one `authorize` decision that server functions use too.
pub struct Caller {
    pub user: Option<CurrentUser>,
    pub session: Session,
}

impl Caller {
    pub fn require(&self, need: Need) -> Result<&CurrentUser, ApiError> {
        Ok(authorize(self.user.as_ref(), need)?)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await.map_err(|(status, msg)| {
            tracing::error!(%status, msg, "session layer missing");
            ApiError(AppError::Internal).into_response()
        })?;
        let user = session::current_user(&state.db, &session).await.map_err(|e| ApiError(e).into_response())?;
        Ok(Caller { user, session })
    }
}

/// True when a browser says the request comes from another site: `Sec-Fetch-Site:
/// cross-site`, or an `Origin` whose host is not ours. Clients that send neither (curl, apps
/// with bearer tokens) are not browsers riding on a cookie, so they pass.
fn is_cross_site(h: &HeaderMap) -> bool {
    if h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return true;
    }
    let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    if origin == "null" {
        return true;
    }
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
    match h.get(header::HOST).and_then(|v| v.to_str().ok()) {
        Some(host) => !origin_host.eq_ignore_ascii_case(host),
        None => true,
    }
}

/// CSRF protection for every write (REST, server functions, form posts), on top of the
/// SameSite=Lax session cookie.
pub async fn refuse_cross_site_writes(req: Request, next: Next) -> Response {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if writes && is_cross_site(req.headers()) {
        tracing::warn!(method = %req.method(), uri = %req.uri(), "refused a cross-site write");
        return error_response(StatusCode::FORBIDDEN, "cross_site", "This request came from another site and was refused.");
    }
    next.run(req).await
}

/// A JSON object body. Too large is 413, not JSON is 415 or 400, each with a plain message.
pub struct JsonBody(pub serde_json::Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<Value>::from_request(req, state).await {
            Ok(Json(Value::Object(map))) => Ok(JsonBody(map)),
            Ok(Json(_)) => Err(error_response(StatusCode::BAD_REQUEST, "bad_request", "The body must be a JSON object.")),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON with Content-Type: application/json.",
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is larger than the 64 KB we accept.",
            )),
            Err(JsonRejection::JsonSyntaxError(_)) | Err(JsonRejection::JsonDataError(_)) => {
                Err(error_response(StatusCode::BAD_REQUEST, "bad_request", "The body is not valid JSON."))
            }
            Err(e) => Err(error_response(e.status(), "bad_request", &e.body_text())),
        }
    }
}

impl JsonBody {
    /// A string field; `None` when absent or null.
    pub fn string(&self, name: &str) -> Result<Option<String>, AppError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(AppError::bad(name, format!("{name} must be text"))),
        }
    }

    pub fn required_string(&self, name: &str) -> Result<String, AppError> {
        self.string(name)?.ok_or_else(|| AppError::bad(name, format!("{name} is required")))
    }

    /// A whole number field; 1.5 or "3" is a 400 naming the field.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, AppError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(other) => Err(AppError::bad(name, format!("{name} must be a whole number (got {other})"))),
        }
    }
}
