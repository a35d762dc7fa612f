//! Payments' server functions: the admin's reconciliation findings, and starting to save a
//! card for later (an express buy).

use super::*;

/// Open reconciliation findings (admins only).
#[leptos::server(prefix = "/api/fn", endpoint = "reconciliation_findings")]
pub async fn get_findings() -> Result<Vec<Finding>, crate::error::AppError> {
    let (state, _) = crate::accounts::caller(crate::accounts::Need::Admin).await?;
    super::reconcile::findings(&state.db).await
}

/// Marks a finding as dealt with (admins only).
#[leptos::server(prefix = "/api/fn", endpoint = "resolve_finding")]
pub async fn resolve_finding(id: i64) -> Result<(), crate::error::AppError> {
    let (state, _) = crate::accounts::caller(crate::accounts::Need::Admin).await?;
    let result = super::reconcile::resolve(&state.db, id).await;
    match &result {
        Ok(()) if crate::ui::forms::is_plain_form_post().await => crate::ui::forms::redirect("/seller/payments"),
        Err(e) => crate::ui::forms::bounce_on_error("/seller/payments", e, &[]).await,
        _ => {}
    }
    result
}

/// A SetupIntent for saving a card with Stripe.js (signed-in shoppers).
#[leptos::server(prefix = "/api/fn", endpoint = "card_setup")]
pub async fn start_card_setup() -> Result<CardSetup, crate::error::AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::SignedIn).await?;
    super::saved::start_setup(&state, &user).await
}
