//! `POST /api/v1/auth/register`, `/login`, `/logout` and `GET /api/v1/auth/me` (cookie session).

use std::net::SocketAddr;

use app::accounts::{CurrentUser, Need, Registration, check_signin_rate, service, session};
use app::state::AppState;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::guard::{Caller, JsonBody};
use super::{ApiError, ErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    pub user: CurrentUser,
    /// What merging the guest cart had to cap or drop.
    pub notices: Vec<String>,
}

/// Creates an account and signs it in; a guest cart in the session is kept.
#[utoipa::path(tag = "auth", post, path = "/api/v1/auth/register", request_body(content = String, description = "{\"email\", \"password\", \"role\"?: \"shopper\"|\"seller\", \"seller_name\"?}"),
    responses((status = 201, body = SignedIn), (status = 400, description = "Field errors, e.g. email already registered", body = ErrorBody)))]
pub async fn register(State(state): State<AppState>, caller: Caller, body: JsonBody) -> Result<(StatusCode, Json<SignedIn>), ApiError> {
    let reg = Registration {
        email: body.string("email")?.unwrap_or_default(),
        password: body.string("password")?.unwrap_or_default(),
        role: body.string("role")?,
        seller_name: body.string("seller_name")?,
    };
    let user = service::create_account(&state.db, reg.validate()?).await?;
    let notices = session::sign_in(&state, &caller.session, &user).await?;
    Ok((StatusCode::CREATED, Json(SignedIn { user, notices })))
}

/// Signs in; rate limited per client IP and per email (429 with Retry-After).
#[utoipa::path(tag = "auth", post, path = "/api/v1/auth/login", request_body(content = String, description = "{\"email\", \"password\"}"),
    responses((status = 200, body = SignedIn), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    caller: Caller,
    body: JsonBody,
) -> Result<Json<SignedIn>, ApiError> {
    let email = body.string("email")?.unwrap_or_default();
    let password = body.string("password")?.unwrap_or_default();
    check_signin_rate(&state, &addr.ip().to_string(), &email).await?;
    let user = service::authenticate(&state.db, &email, &password).await?;
    let notices = session::sign_in(&state, &caller.session, &user).await?;
    Ok(Json(SignedIn { user, notices }))
}

#[utoipa::path(tag = "auth", post, path = "/api/v1/auth/logout", responses((status = 204, description = "Signed out")))]
pub async fn logout(caller: Caller) -> Result<StatusCode, ApiError> {
    session::sign_out(&caller.session).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(tag = "auth", get, path = "/api/v1/auth/me", responses((status = 200, body = CurrentUser), (status = 401, body = ErrorBody)))]
pub async fn me(caller: Caller) -> Result<Json<CurrentUser>, ApiError> {
    Ok(Json(caller.require(Need::SignedIn)?.clone()))
}

/// This module's endpoints (accounts on the cookie session), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}
