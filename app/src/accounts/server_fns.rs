//! Server functions of the account pages. Each takes the state and session, calls one service,
//! and on failure of a plain form post sends the browser back to its form.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::*;

/// What the header needs on every page: who is signed in and how full the cart is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderState {
    pub user: Option<CurrentUser>,
    pub cart_count: i64,
}

#[cfg(feature = "ssr")]
pub(crate) async fn session() -> Result<tower_sessions::Session, AppError> {
    leptos_axum::extract::<tower_sessions::Session>().await.map_err(|e| {
        tracing::error!(error = %e, "no session layer");
        AppError::Internal
    })
}

/// The state and the caller of a server function, who must meet `need` (401/403 otherwise).
#[cfg(feature = "ssr")]
pub(crate) async fn caller(need: Need) -> Result<(crate::state::AppState, CurrentUser), AppError> {
    let state = crate::state::app_state()?;
    let user = session::require(&state, &session().await?, need).await?;
    Ok((state, user))
}

/// A form's server function: `then` runs for the caller `need` lets in; after a plain
/// form post (no JavaScript) the browser goes back to `page`, an error travelling in the query.
#[cfg(feature = "ssr")]
pub(crate) async fn form_post<T, F, Fut>(page: String, need: Need, then: F) -> Result<T, AppError>
where
    F: FnOnce(crate::state::AppState, CurrentUser) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let result = async {
        let (state, user) = caller(need).await?;
        then(state, user).await
    }
    .await;
    crate::ui::forms::after_form(&result, |_| page.clone(), &page, &[]).await;
    result
}

/// Where to go after signing in: the account page, or `next` when it is a path of this shop
/// (`ui::forms::same_site_path`; anything else is `/`).
pub fn safe_next(next: Option<&str>) -> String {
    next.map_or("/account", crate::ui::forms::same_site_path).to_owned()
}

#[cfg(feature = "ssr")]
fn after_sign_in(notices: &[String], next: Option<&str>) {
    if notices.is_empty() {
        crate::ui::forms::redirect(&safe_next(next));
    } else {
        let q: Vec<String> = notices.iter().map(|n| format!("notice={}", crate::ui::forms::url_encode(n))).collect();
        crate::ui::forms::redirect(&format!("/cart?{}", q.join("&")));
    }
}

/// Checks the sign-in limits for this client and email (`SELLOUT_RATE_SIGNIN_*`).
#[cfg(feature = "ssr")]
pub async fn check_signin_rate(state: &crate::state::AppState, ip: &str, email: &str) -> Result<(), AppError> {
    let email = email.trim().to_lowercase();
    crate::ratelimit::enforce(state.stores.rate_limiter.as_ref(), &state.limits, &[(format!("signin:ip:{ip}"), state.limits.signin_per_ip), (format!("signin:email:{email}"), state.limits.signin_per_email)]).await
}

/// Sign-ups from one client address (`ClientAddr::bucket`): 429 past `SELLOUT_RATE_SIGNUP_PER_IP`.
#[cfg(feature = "ssr")]
pub async fn check_signup_rate(state: &crate::state::AppState, ip: &str) -> Result<(), AppError> {
    crate::ratelimit::enforce(state.stores.rate_limiter.as_ref(), &state.limits, &[(format!("signup:ip:{ip}"), state.limits.signup_per_ip)]).await
}

/// The key of the client's per-address rate limits (`ClientAddr::bucket`: behind a trusted
/// proxy, the address it forwarded for; an IPv6 client's /64).
#[cfg(feature = "ssr")]
pub async fn client_ip() -> String {
    leptos_axum::extract::<crate::ratelimit::ClientAddr>().await.map(|c| c.bucket()).unwrap_or_else(|_| "unknown".to_owned())
}

#[server(prefix = "/api/fn", endpoint = "header")]
pub async fn get_header() -> Result<HeaderState, AppError> {
    let state = crate::state::app_state()?;
    session::header_state(&state, &session().await?).await
}

#[server(prefix = "/api/fn", endpoint = "current_user")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    let state = crate::state::app_state()?;
    session::current_user(&state, &session().await?).await
}

#[server(prefix = "/api/fn", endpoint = "register")]
pub async fn register(
    email: String,
    password: String,
    role: Option<String>,
    seller_name: Option<String>,
    next: Option<String>,
) -> Result<CurrentUser, AppError> {
    let reg = Registration { email: email.clone(), password, role: role.clone(), seller_name: seller_name.clone() };
    let result = async {
        let state = crate::state::app_state()?;
        let session = session().await?;
        let reg = reg.validate()?;
        check_signup_rate(&state, &client_ip().await).await?;
        let user = service::create_account(&state.db, reg).await?;
        let notices = session::sign_in(&state, &session, &user).await?;
        Ok::<_, AppError>((user, notices))
    }
    .await;
    match result {
        Ok((user, notices)) => {
            after_sign_in(&notices, next.as_deref());
            Ok(user)
        }
        Err(e) => {
            let keep = [
                ("email", email.as_str()),
                ("role", role.as_deref().unwrap_or("")),
                ("seller_name", seller_name.as_deref().unwrap_or("")),
                ("next", next.as_deref().unwrap_or("")),
            ];
            crate::ui::forms::bounce_on_error("/register", &e, &keep).await;
            Err(e)
        }
    }
}

#[server(prefix = "/api/fn", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<CurrentUser, AppError> {
    let result = async {
        let state = crate::state::app_state()?;
        let session = session().await?;
        check_signin_rate(&state, &client_ip().await, &email).await?;
        let user = service::authenticate(&state.db, &email, &password).await?;
        let notices = session::sign_in(&state, &session, &user).await?;
        Ok::<_, AppError>((user, notices))
    }
    .await;
    match result {
        Ok((user, notices)) => {
            after_sign_in(&notices, next.as_deref());
            Ok(user)
        }
        Err(e) => {
            let next = next.unwrap_or_default();
            crate::ui::forms::bounce_on_error("/signin", &e, &[("email", email.as_str()), ("next", next.as_str())]).await;
            Err(e)
        }
    }
}

#[server(prefix = "/api/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    session::sign_out(&session().await?).await?;
    crate::ui::forms::redirect("/");
    Ok(())
}

#[server(prefix = "/api/fn", endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    let result = async {
        let state = crate::state::app_state()?;
        let session = session().await?;
        let user = session::require(&state, &session, Need::SignedIn).await?;
        // Guessing the current password here is guessing a sign-in: the same limits count it.
        check_signin_rate(&state, &client_ip().await, &user.email).await?;
        let epoch = service::change_password(&state.db, user.user_id, &current_password, &new_password).await?;
        session::moved_to_epoch(&state, &session, user.user_id, epoch).await
    }
    .await;
    if let Err(e) = &result {
        crate::ui::forms::bounce_on_error("/account", e, &[]).await;
    }
    result
}

#[server(prefix = "/api/fn", endpoint = "addresses")]
pub async fn list_addresses() -> Result<Vec<Address>, AppError> {
    let state = crate::state::app_state()?;
    let user = session::require(&state, &session().await?, Need::SignedIn).await?;
    service::list_addresses(&state.db, user.user_id).await
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api/fn", endpoint = "save_address")]
pub async fn save_address(
    address_id: Option<String>,
    name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: String,
    country: String,
    make_default: Option<String>,
) -> Result<Address, AppError> {
    let input = AddressInput { name, line1, line2, city, region, postal_code, country };
    let id = address_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse::<i64>());
    let result = async {
        let state = crate::state::app_state()?;
        let user = session::require(&state, &session().await?, Need::SignedIn).await?;
        let id = id.transpose().map_err(|_| AppError::not_found("There is no such address in your address book."))?;
        service::save_address(&state.db, user.user_id, id, &input, make_default.is_some()).await
    }
    .await;
    if let Err(e) = &result {
        let edit = address_id.clone().unwrap_or_default();
        let keep = [
            ("edit", edit.as_str()),
            ("name", input.name.as_str()),
            ("line1", input.line1.as_str()),
            ("line2", input.line2.as_deref().unwrap_or("")),
            ("city", input.city.as_str()),
            ("region", input.region.as_deref().unwrap_or("")),
            ("postal_code", input.postal_code.as_str()),
            ("country", input.country.as_str()),
        ];
        crate::ui::forms::bounce_on_error("/account", e, &keep).await;
    }
    result
}

#[server(prefix = "/api/fn", endpoint = "delete_address")]
pub async fn delete_address(address_id: i64) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let user = session::require(&state, &session().await?, Need::SignedIn).await?;
    service::delete_address(&state.db, user.user_id, address_id).await
}

#[server(prefix = "/api/fn", endpoint = "default_address")]
pub async fn set_default_address(address_id: i64) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let user = session::require(&state, &session().await?, Need::SignedIn).await?;
    service::set_default_address(&state.db, user.user_id, address_id).await
}

/// The account page's token list: the caller's tokens, the scopes their role may give, and a
/// token just made by a plain form post (kept in the session for this one showing).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensPage {
    pub tokens: Vec<tokens::TokenView>,
    pub allowed: Vec<tokens::Scope>,
    pub just_made: Option<tokens::NewToken>,
}

#[cfg(feature = "ssr")]
const JUST_MADE_TOKEN_KEY: &str = "token:just_made";

#[server(prefix = "/api/fn", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<TokensPage, AppError> {
    let (state, user) = caller(Need::SignedIn).await?;
    let session = session().await?;
    let just_made = session.remove::<tokens::NewToken>(JUST_MADE_TOKEN_KEY).await?;
    Ok(TokensPage { tokens: tokens::list(&state, user.user_id).await?, allowed: tokens::Scope::allowed_for(user.role).to_vec(), just_made })
}

/// Makes a token from the account page's form: its name and one checkbox per scope.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api/fn", endpoint = "create_token")]
pub async fn create_token(
    token_name: String,
    catalog_read: Option<String>,
    catalog_write: Option<String>,
    orders: Option<String>,
    sales: Option<String>,
    admin: Option<String>,
) -> Result<tokens::NewToken, AppError> {
    use tokens::Scope;
    let ticked = [(Scope::CatalogRead, &catalog_read), (Scope::CatalogWrite, &catalog_write), (Scope::Orders, &orders), (Scope::Sales, &sales), (Scope::Admin, &admin)];
    let scopes: Vec<Scope> = ticked.iter().filter(|(_, v)| v.is_some()).map(|(s, _)| *s).collect();
    let input = tokens::TokenInput { name: token_name.clone(), scopes };
    let result = async {
        let (state, user) = caller(Need::SignedIn).await?;
        tokens::create(&state, &user, &input).await
    }
    .await
    // The page has other forms with a "name": this one's fields are `token_…`.
    .map_err(|e| match e {
        AppError::Invalid(fields) => AppError::Invalid(fields.into_iter().map(|(k, v)| (format!("token_{k}"), v)).collect()),
        e => e,
    });
    match &result {
        // Without JavaScript the answer is not shown: the next rendering of the page shows the
        // secret once, from the session, and forgets it.
        Ok(made) if crate::ui::forms::is_plain_form_post().await => {
            session().await?.insert(JUST_MADE_TOKEN_KEY, made).await?;
            crate::ui::forms::redirect("/account#tokens");
        }
        Ok(_) => {}
        Err(e) => {
            let mut keep = vec![("token_name", token_name.as_str())];
            keep.extend(ticked.iter().filter(|(_, v)| v.is_some()).map(|(s, _)| (s.field(), "on")));
            crate::ui::forms::bounce_on_error("/account", e, &keep).await;
        }
    }
    result
}

#[server(prefix = "/api/fn", endpoint = "revoke_token")]
pub async fn revoke_token(token_id: i64) -> Result<tokens::TokenView, AppError> {
    let (state, user) = caller(Need::SignedIn).await?;
    tokens::revoke(&state, user.user_id, token_id).await
}

/// Whether the caller's email address is confirmed (the account page's notice).
#[server(prefix = "/api/fn", endpoint = "email_status")]
pub async fn get_email_status() -> Result<verify::EmailStatus, AppError> {
    let (state, user) = caller(Need::SignedIn).await?;
    verify::status(&state.db, &user).await
}

/// Mails the caller a new link to confirm their address (rate limited). `back`: the page a
/// plain form post returns to (a path of this shop).
#[server(prefix = "/api/fn", endpoint = "send_verification")]
pub async fn send_verification(back: Option<String>) -> Result<(), AppError> {
    let result = async {
        let (state, user) = caller(Need::SignedIn).await?;
        verify::send_again(&state, &user).await
    }
    .await;
    let back = back.as_deref().map_or("/account", crate::ui::forms::same_site_path).to_owned();
    match &result {
        Ok(()) if crate::ui::forms::is_plain_form_post().await => crate::ui::forms::redirect(&crate::ui::forms::with_query(&back, "sent=1")),
        Err(e) => crate::ui::forms::bounce_on_error(&back, e, &[]).await,
        _ => {}
    }
    result
}

/// Confirms the address of the link's account (the button on `/account/verify`).
#[server(prefix = "/api/fn", endpoint = "confirm_email")]
pub async fn confirm_email(token: String) -> Result<verify::Confirmed, AppError> {
    let result = async { verify::confirm(&crate::state::app_state()?, &token).await }.await;
    match &result {
        Ok(_) if crate::ui::forms::is_plain_form_post().await => crate::ui::forms::redirect("/account/verify?confirmed=1"),
        Err(e) => crate::ui::forms::bounce_on_error(&format!("/account/verify?token={}", crate::ui::forms::url_encode(&token)), e, &[]).await,
        _ => {}
    }
    result
}
