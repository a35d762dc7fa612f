//! Request guards shared by every route: who is calling (and may they), cross-site writes,
//! and the typed extractors of the REST edge (JSON bodies, path ids, query parameters) that
//! fail with a message a person can act on.

use app::accounts::tokens::{Scope, TokenCaller};
use app::accounts::{CurrentUser, Need, authorize, session};
use app::cart::CartOwner;
use app::error::AppError;
use app::state::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_sessions::Session;

use super::{ApiError, error_response};

/// The caller of a REST route, signed in or not: by the session cookie, or by an API token
/// (`Authorization: Bearer so_…`, never both: with the header the cookie is not read). Routes
/// say what they need with `require`, which asks the one `authorize` decision that server
/// functions use too; a token must also carry the scope of the route (`scope_of`).
pub struct Caller {
    pub user: Option<CurrentUser>,
    pub session: Session,
    /// The token the request came with, when it came with one.
    pub token: Option<TokenCaller>,
}

impl Caller {
    pub fn require(&self, need: Need) -> Result<&CurrentUser, ApiError> {
        Ok(authorize(self.user.as_ref(), need)?)
    }

    /// The caller's cart: the signed-in account's (a token's, or the session's as
    /// `session::current_user` decided), else the session's guest cart (made on the first
    /// write when `create`).
    pub async fn cart_owner(&self, create: bool) -> Result<Option<CartOwner>, AppError> {
        match &self.user {
            Some(u) => Ok(Some(CartOwner::User(u.user_id))),
            None => session::guest_cart(&self.session, create).await,
        }
    }
}

/// The scope a token needs for a route; `None` for what any token (or nobody) may do: public
/// reads, the caller's own account and tokens.
pub fn scope_of(method: &Method, path: &str) -> Option<Scope> {
    let rest = path.strip_prefix("/api/v1/")?;
    let read = matches!(*method, Method::GET | Method::HEAD);
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        ["seller", "products", ..] => Some(if read { Scope::CatalogRead } else { Scope::CatalogWrite }),
        ["seller", "orders", ..] | ["cart", ..] | ["orders", ..] | ["payment-methods", ..] | ["wishlist", ..] => Some(Scope::Orders),
        ["products", _, "reviews"] if !read => Some(Scope::Orders),
        // A sale, the list and the draw are public; the caller's place, holds and buys are not.
        ["sales"] | ["sales", _] | ["sales", _, "draw"] if read => None,
        ["seller", "sales", ..] | ["sales", ..] => Some(Scope::Sales),
        ["admin", ..] => Some(Scope::Admin),
        _ => None,
    }
}

/// The secret of an `Authorization: Bearer …` header; any other scheme is a 401 that says
/// what to send.
fn bearer(value: &header::HeaderValue) -> Result<&str, AppError> {
    let text = value.to_str().unwrap_or("");
    match text.split_once(' ') {
        Some((scheme, secret)) if scheme.eq_ignore_ascii_case("bearer") && !secret.trim().is_empty() => Ok(secret.trim()),
        _ => Err(AppError::Unauthorized("Send an API token as Authorization: Bearer so_… (or no Authorization header and the session cookie).".to_owned())),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await.map_err(|(status, msg)| {
            tracing::error!(%status, msg, "session layer missing");
            ApiError(AppError::Internal).into_response()
        })?;
        let Some(authorization) = parts.headers.get(header::AUTHORIZATION) else {
            let user = session::current_user(state, &session).await.map_err(|e| ApiError(e).into_response())?;
            return Ok(Caller { user, session, token: None });
        };
        let reply = |e: AppError| ApiError(e).into_response();
        let token = app::accounts::tokens::authenticate(state, bearer(authorization).map_err(reply)?).await.map_err(reply)?;
        if let Some(scope) = scope_of(&parts.method, parts.uri.path())
            && !token.scopes.contains(&scope)
        {
            return Err(reply(AppError::Forbidden(format!("This API token may not do this: it needs the {} scope. Make a token with it in the admin.", scope.as_str()))));
        }
        app::ratelimit::enforce(state.stores.rate_limiter.as_ref(), &state.limits, &[(format!("token:{}", token.token_id), state.limits.api_token)]).await.map_err(reply)?;
        Ok(Caller { user: Some(token.user.clone()), session, token: Some(token) })
    }
}

/// A signed-in caller: a 401 before anything else of the request is read.
pub struct SignedInUser(pub CurrentUser);
/// A seller (or an admin): 401 or 403 before anything else of the request is read.
pub struct SellerUser(pub CurrentUser);
/// An admin: 401 or 403 before anything else of the request is read.
pub struct AdminUser(pub CurrentUser);

macro_rules! needs {
    ($($t:ident => $need:expr),*) => {$(
        impl FromRequestParts<AppState> for $t {
            type Rejection = Response;

            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
                let caller = Caller::from_request_parts(parts, state).await?;
                caller.require($need).map(|user| $t(user.clone())).map_err(IntoResponse::into_response)
            }
        }
    )*};
}
needs!(SignedInUser => Need::SignedIn, SellerUser => Need::Seller, AdminUser => Need::Admin);

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
/// A REST request with an `Authorization` header is not checked: it is authenticated by that
/// header alone (the cookie is then ignored), which a cross-site form cannot send.
pub async fn refuse_cross_site_writes(req: Request, next: Next) -> Response {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let by_token = req.uri().path().starts_with("/api/v1/") && req.headers().contains_key(header::AUTHORIZATION);
    if writes && !by_token && is_cross_site(req.headers()) {
        tracing::warn!(method = %req.method(), uri = %req.uri(), "refused a cross-site write");
        return error_response(StatusCode::FORBIDDEN, "cross_site", "This request came from another site and was refused.");
    }
    next.run(req).await
}

/// An optional JSON object body: none at all (no `Content-Type`, nothing sent) reads as
/// `T::default()`, anything else as `JsonBody`.
pub struct OptionalJsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers();
        let empty = headers.get(header::CONTENT_LENGTH).is_none_or(|l| l.as_bytes() == b"0") && headers.get(header::TRANSFER_ENCODING).is_none();
        if empty && headers.get(header::CONTENT_TYPE).is_none() {
            return Ok(OptionalJsonBody(T::default()));
        }
        JsonBody::from_request(req, state).await.map(|JsonBody(t)| OptionalJsonBody(t))
    }
}

/// A JSON object body read into `T`. Too large is 413, not JSON is 415 or 400, a field of the
/// wrong type or a missing one is a 400 naming the field, each with a plain message.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let object = match Json::<Value>::from_request(req, state).await {
            Ok(Json(Value::Object(map))) => Value::Object(map),
            Ok(Json(_)) => return Err(error_response(StatusCode::BAD_REQUEST, "bad_request", "The body must be a JSON object.")),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                return Err(error_response(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "Send the body as JSON with Content-Type: application/json.",
                ));
            }
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "The request body is larger than the 64 KB we accept.",
                ));
            }
            Err(JsonRejection::JsonSyntaxError(_)) | Err(JsonRejection::JsonDataError(_)) => {
                return Err(error_response(StatusCode::BAD_REQUEST, "bad_request", "The body is not valid JSON."));
            }
            Err(e) => return Err(error_response(e.status(), "bad_request", &e.body_text())),
        };
        serde_path_to_error::deserialize(object).map(JsonBody).map_err(|e| ApiError(field_error(&e)).into_response())
    }
}

/// A field serde could not read, said for a person: `quantity must be a whole number (got
/// 1.5)`, `email is required`, `mode must be add or set (got "double")`.
fn field_error(e: &serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let path = e.path().to_string();
    let at = |name: &str| if path == "." { name.to_owned() } else { format!("{path}.{name}") };
    let inner = e.inner().to_string();
    let inner = inner.split(" at line ").next().unwrap_or(&inner);
    if let Some(name) = inner.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
        let field = at(name);
        return AppError::bad(&field, format!("{field} is required"));
    }
    let field = if path == "." { "body".to_owned() } else { path.clone() };
    let wrong = inner.strip_prefix("invalid type: ").or_else(|| inner.strip_prefix("invalid value: "));
    let message = if let Some((got, expected)) = wrong.and_then(|r| r.split_once(", expected ")) {
        format!("{field} must be {} (got {})", kind_of(expected), value_of(got))
    } else if let Some((got, expected)) = inner.strip_prefix("unknown variant ").and_then(|r| r.split_once(", expected ")) {
        let choices = expected.trim_start_matches("one of ").replace('`', "");
        format!("{field} must be {choices} (got \"{}\")", got.trim_matches('`'))
    } else {
        format!("{field}: {inner}")
    };
    AppError::bad(&field, message)
}

/// serde's name of what it expected, in words.
fn kind_of(expected: &str) -> &str {
    match expected {
        "a string" => "text",
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number",
        "a boolean" => "true or false",
        "a sequence" => "a list",
        e if e.starts_with("struct ") || e == "a map" => "an object",
        other => other,
    }
}

/// serde's description of what it got (`floating point `1.5``, `string "3"`), as the value.
fn value_of(got: &str) -> String {
    if let Some((_, quoted)) = got.split_once('`') {
        return quoted.trim_end_matches('`').to_owned();
    }
    match got {
        "map" => "an object".to_owned(),
        "sequence" => "a list".to_owned(),
        other => other.strip_prefix("string ").unwrap_or(other).to_owned(),
    }
}

/// A URL path segment read as an id (`Id<OrderId>`): a segment that is not one is the 404 a
/// missing id gets, with the same message.
pub struct Id<T>(pub T);

pub trait PathId: Sized {
    fn from_segment(raw: &str) -> Result<Self, AppError>;
}

macro_rules! path_ids {
    ($($t:ty),*) => {$(
        impl PathId for $t {
            fn from_segment(raw: &str) -> Result<Self, AppError> {
                <$t>::parse(raw)
            }
        }
    )*};
}
path_ids!(app::ids::ProductId, app::ids::OrderId, app::ids::ImageId, app::ids::SaleId);

impl<S: Send + Sync, T: PathId> FromRequestParts<S> for Id<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        T::from_segment(&raw).map(Id).map_err(|e| ApiError(e).into_response())
    }
}

/// Query parameters read into a struct by its own rules (`ListQuery::parse`, the same the
/// pages use): an empty value counts as absent, a bad one is a 400 naming the parameter.
pub struct QueryOf<T>(pub T);

pub trait FromQuery: Sized {
    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, AppError>;
}

fn pairs(pairs: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

impl FromQuery for app::catalog::ListQuery {
    fn from_pairs(p: &[(String, String)]) -> Result<Self, AppError> {
        Self::parse(pairs(p))
    }
}

impl FromQuery for app::search::SearchQuery {
    fn from_pairs(p: &[(String, String)]) -> Result<Self, AppError> {
        Self::parse(pairs(p))
    }
}

impl FromQuery for app::seller::SellerListQuery {
    fn from_pairs(p: &[(String, String)]) -> Result<Self, AppError> {
        Self::parse(pairs(p))
    }
}

impl<S: Send + Sync, T: FromQuery> FromRequestParts<S> for QueryOf<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let read = serde_urlencoded::from_str::<Vec<(String, String)>>(parts.uri.query().unwrap_or(""))
            .map_err(|_| AppError::bad("query", "the query string could not be read"));
        read.and_then(|p| T::from_pairs(&p)).map(QueryOf).map_err(|e| ApiError(e).into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Line {
        quantity: i64,
        #[serde(default)]
        mode: Option<Mode>,
        address: Option<Address>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Add,
        Set,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Address {
        name: String,
    }

    fn error_of(body: serde_json::Value) -> (String, String) {
        let e = serde_path_to_error::deserialize::<_, Line>(body).unwrap_err();
        let fields = field_error(&e).fields();
        assert_eq!(fields.len(), 1, "one field is named: {fields:?}");
        fields.into_iter().next().unwrap()
    }

    #[test]
    fn every_guarded_route_names_the_scope_a_token_needs() {
        let scope = |m: Method, p: &str| scope_of(&m, p);
        assert_eq!(scope(Method::GET, "/api/v1/seller/products"), Some(Scope::CatalogRead));
        assert_eq!(scope(Method::PUT, "/api/v1/seller/products/3"), Some(Scope::CatalogWrite));
        assert_eq!(scope(Method::POST, "/api/v1/seller/products/3/images"), Some(Scope::CatalogWrite));
        assert_eq!(scope(Method::POST, "/api/v1/seller/orders/3/ship"), Some(Scope::Orders));
        assert_eq!(scope(Method::POST, "/api/v1/orders/checkout"), Some(Scope::Orders));
        assert_eq!(scope(Method::GET, "/api/v1/cart"), Some(Scope::Orders));
        assert_eq!(scope(Method::POST, "/api/v1/products/3/reviews"), Some(Scope::Orders));
        assert_eq!(scope(Method::GET, "/api/v1/products/3/reviews"), None, "reviews are public to read");
        assert_eq!(scope(Method::GET, "/api/v1/sales"), None);
        assert_eq!(scope(Method::GET, "/api/v1/sales/4"), None);
        assert_eq!(scope(Method::GET, "/api/v1/sales/4/draw"), None);
        assert_eq!(scope(Method::GET, "/api/v1/sales/4/queue"), Some(Scope::Sales), "the caller's own place");
        assert_eq!(scope(Method::GET, "/api/v1/sales/holds/ab"), Some(Scope::Sales));
        assert_eq!(scope(Method::POST, "/api/v1/sales/4/buy"), Some(Scope::Sales));
        assert_eq!(scope(Method::POST, "/api/v1/seller/sales"), Some(Scope::Sales));
        assert_eq!(scope(Method::GET, "/api/v1/admin/users"), Some(Scope::Admin));
        for free in ["/api/v1/account", "/api/v1/auth/me", "/api/v1/tokens", "/api/v1/sellers/2", "/api/v1/products", "/healthz"] {
            assert_eq!(scope(Method::GET, free), None, "{free}");
        }
    }

    #[test]
    fn only_a_bearer_authorization_is_read() {
        let h = |s: &str| header::HeaderValue::from_str(s).unwrap();
        assert_eq!(bearer(&h("Bearer so_abc")).unwrap(), "so_abc");
        assert_eq!(bearer(&h("bearer  so_abc ")).unwrap(), "so_abc");
        for bad in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "so_abc"] {
            assert!(matches!(bearer(&h(bad)), Err(AppError::Unauthorized(_))), "{bad}");
        }
    }

    #[test]
    fn a_field_serde_cannot_read_is_named_in_words() {
        let said = |field: &str, message: &str| (field.to_owned(), message.to_owned());
        assert_eq!(error_of(serde_json::json!({"quantity": 1.5})), said("quantity", "quantity must be a whole number (got 1.5)"));
        assert_eq!(error_of(serde_json::json!({"quantity": "3"})), said("quantity", "quantity must be a whole number (got \"3\")"));
        assert_eq!(error_of(serde_json::json!({})), said("quantity", "quantity is required"));
        assert_eq!(
            error_of(serde_json::json!({"quantity": 1, "mode": "double"})),
            said("mode", "mode must be add or set (got \"double\")")
        );
        assert_eq!(
            error_of(serde_json::json!({"quantity": 1, "address": {"name": 5}})),
            said("address.name", "address.name must be text (got 5)")
        );
        assert_eq!(error_of(serde_json::json!({"quantity": 1, "address": {}})), said("address.name", "address.name is required"));
        assert_eq!(error_of(serde_json::json!({"quantity": 1, "address": 7})), said("address", "address must be an object (got 7)"));
    }
}
