//! `POST /api/v1/auth/register`, `/login`, `/logout` and `GET /api/v1/auth/me` (cookie session).


use app::accounts::{CurrentUser, Registration, check_signin_rate, check_signup_rate, service, session, verify};
use app::state::AppState;
use axum::Json;
use app::ratelimit::ClientAddr;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::guard::{Caller, JsonBody, SignedInUser};
use super::{ApiError, ErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    pub user: CurrentUser,
    /// What merging the guest cart had to cap or drop.
    pub notices: Vec<String>,
}

/// `POST /api/v1/auth/register`; the rules are `Registration::validate`'s.
#[derive(Deserialize)]
pub struct RegisterBody {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    role: Option<String>,
    seller_name: Option<String>,
}

/// `POST /api/v1/auth/login`.
#[derive(Deserialize)]
pub struct LoginBody {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Creates an account and signs it in; a guest cart in the session is kept.
#[utoipa::path(tag = "auth", post, path = "/api/v1/auth/register", request_body(content = String, description = "{\"email\", \"password\", \"role\"?: \"shopper\"|\"seller\", \"seller_name\"?}"),
    responses((status = 201, body = SignedIn), (status = 400, description = "Field errors, e.g. email already registered", body = ErrorBody), (status = 429, description = "Too many sign-ups from this address; Retry-After says when", body = ErrorBody)))]
pub async fn register(State(state): State<AppState>, client: ClientAddr, caller: Caller, JsonBody(body): JsonBody<RegisterBody>) -> Result<(StatusCode, Json<SignedIn>), ApiError> {
    let reg = Registration { email: body.email, password: body.password, role: body.role, seller_name: body.seller_name }.validate()?;
    // Counted once the request is sound: a typo in the form costs no sign-up.
    check_signup_rate(&state, &client.bucket()).await?;
    let user = service::create_account(&state.db, reg).await?;
    let notices = session::sign_in(&state, &caller.session, &user).await?;
    Ok((StatusCode::CREATED, Json(SignedIn { user, notices })))
}

/// Signs in; rate limited per client IP and per email (429 with Retry-After).
#[utoipa::path(tag = "auth", post, path = "/api/v1/auth/login", request_body(content = String, description = "{\"email\", \"password\"}"),
    responses((status = 200, body = SignedIn), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    caller: Caller,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<SignedIn>, ApiError> {
    check_signin_rate(&state, &client.bucket(), &body.email).await?;
    let user = service::authenticate(&state.db, &body.email, &body.password).await?;
    let notices = session::sign_in(&state, &caller.session, &user).await?;
    Ok(Json(SignedIn { user, notices }))
}

#[utoipa::path(tag = "auth", post, path = "/api/v1/auth/logout", responses((status = 204, description = "Signed out")))]
pub async fn logout(caller: Caller) -> Result<StatusCode, ApiError> {
    session::sign_out(&caller.session).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(tag = "auth", get, path = "/api/v1/auth/me", responses((status = 200, body = CurrentUser), (status = 401, body = ErrorBody)))]
pub async fn me(SignedInUser(user): SignedInUser) -> Result<Json<CurrentUser>, ApiError> {
    Ok(Json(user))
}

/// `POST /api/v1/auth/verify-email`.
#[derive(Deserialize)]
pub struct VerifyBody {
    #[serde(default)]
    token: String,
}

/// What opening the link did.
#[derive(Serialize, ToSchema)]
pub struct VerifyAnswer {
    pub confirmed: verify::Confirmed,
}

/// Confirms the address of the account the mailed link belongs to (no session needed). The
/// link works once: a second use answers `already`.
#[utoipa::path(tag = "auth", post, path = "/api/v1/auth/verify-email", request_body(content = String, description = "{\"token\"}: the `token` of the mailed link"),
    responses((status = 200, body = VerifyAnswer), (status = 400, description = "Not a link we sent, cut short, or expired", body = ErrorBody)))]
pub async fn verify_email(State(state): State<AppState>, JsonBody(body): JsonBody<VerifyBody>) -> Result<Json<VerifyAnswer>, ApiError> {
    Ok(Json(VerifyAnswer { confirmed: verify::confirm(&state, &body.token).await? }))
}

/// Whether the caller's email address is confirmed.
#[utoipa::path(tag = "auth", get, path = "/api/v1/auth/email", responses((status = 200, body = verify::EmailStatus), (status = 401, body = ErrorBody)))]
pub async fn email_status(State(state): State<AppState>, SignedInUser(user): SignedInUser) -> Result<Json<verify::EmailStatus>, ApiError> {
    Ok(Json(verify::status(&state.db, &user).await?))
}

/// Mails the caller a new link to confirm their address.
#[utoipa::path(tag = "auth", post, path = "/api/v1/auth/email/send-link",
    responses((status = 202, description = "A new link is on its way"), (status = 401, body = ErrorBody), (status = 409, description = "Already confirmed", body = ErrorBody), (status = 429, description = "Asked too often; Retry-After says when", body = ErrorBody)))]
pub async fn send_link(State(state): State<AppState>, SignedInUser(user): SignedInUser) -> Result<StatusCode, ApiError> {
    verify::send_again(&state, &user).await?;
    Ok(StatusCode::ACCEPTED)
}

/// This module's endpoints (accounts on the cookie session), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(verify_email))
        .routes(routes!(email_status))
        .routes(routes!(send_link))
}
