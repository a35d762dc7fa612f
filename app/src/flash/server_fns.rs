//! The sale pages' server functions (thin: take the state, call the service).

use leptos::prelude::*;

use super::SaleView;
use crate::error::AppError;

#[server(prefix = "/api/fn", endpoint = "sales")]
pub async fn get_sales() -> Result<Vec<SaleView>, AppError> {
    let state = crate::state::app_state()?;
    super::service::sales(&state).await
}

#[server(prefix = "/api/fn", endpoint = "sale")]
pub async fn get_sale(id: i64) -> Result<SaleView, AppError> {
    let state = crate::state::app_state()?;
    super::service::sale(&state, crate::ids::SaleId(id)).await
}

/// The shopper's standing in a sale: whether they are signed in, and their place if in line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MyPlace {
    pub signed_in: bool,
    pub place: Option<super::QueueView>,
    /// Registered for the start's mail.
    pub registered: bool,
    /// The express buy saved with the registration.
    pub express: Option<super::ExpressView>,
    /// For saving one: the shopper's addresses (id, one line) and how a card is saved.
    pub addresses: Vec<(i64, String)>,
    pub card_saving: crate::payments::PaymentEntry,
    /// Why they may not join, when not in line (said before they try).
    pub not_eligible: Option<super::Ineligible>,
    /// What they already have of the sale, when it is their limit: no join or buy then.
    pub got: Option<super::GotYours>,
}

#[server(prefix = "/api/fn", endpoint = "sale_place")]
pub async fn get_my_place(sale_id: i64) -> Result<MyPlace, AppError> {
    let (state, user) = match crate::accounts::caller(crate::accounts::Need::SignedIn).await {
        Ok(x) => x,
        Err(AppError::Unauthorized(_)) => {
            return Ok(MyPlace { signed_in: false, place: None, registered: false, express: None, addresses: Vec::new(), card_saving: crate::payments::PaymentEntry::NotSetUp, not_eligible: None, got: None });
        }
        Err(e) => return Err(e),
    };
    let registration = super::service::registration(&state, &user, sale_id).await?;
    let addresses = crate::accounts::service::list_addresses(&state.db, user.user_id)
        .await?
        .into_iter()
        .map(|a| (a.address_id, format!("{}, {}, {} {}", a.name, a.line1, a.postal_code, a.city)))
        .collect();
    let mut me = MyPlace {
        signed_in: true,
        place: None,
        registered: registration.is_some(),
        express: registration.and_then(|r| r.express),
        addresses,
        card_saving: crate::payments::card::payment_entry(&state),
        not_eligible: None,
        got: None,
    };
    match super::service::bought(&state, &user, crate::ids::SaleId(sale_id)).await {
        Ok(got) => me.got = got,
        Err(AppError::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    match super::service::place(&state, &user, crate::ids::SaleId(sale_id)).await {
        Ok(q) => me.place = Some(q),
        Err(AppError::NotFound(_) | AppError::Conflict(_)) => {}
        Err(e) => return Err(e),
    }
    if me.place.is_none() && me.got.is_none() {
        me.not_eligible = super::service::eligibility(&state, &user, crate::ids::SaleId(sale_id)).await?;
    }
    Ok(me)
}

#[server(prefix = "/api/fn", endpoint = "sale_join")]
pub async fn join_queue(sale_id: i64) -> Result<super::QueueView, AppError> {
    crate::accounts::form_post(format!("/sales/{sale_id}"), crate::accounts::Need::SignedIn, |state, user| async move {
        super::service::join(&state, &user, &crate::accounts::client_ip().await, crate::ids::SaleId(sale_id)).await
    })
    .await
}

#[server(prefix = "/api/fn", endpoint = "sale_leave")]
pub async fn leave_queue(sale_id: i64) -> Result<(), AppError> {
    crate::accounts::form_post(format!("/sales/{sale_id}"), crate::accounts::Need::SignedIn, |state, user| async move {
        super::service::leave(&state, &user, crate::ids::SaleId(sale_id)).await
    })
    .await
}

#[server(prefix = "/api/fn", endpoint = "seller_sales")]
pub async fn get_seller_sales() -> Result<Vec<super::SellerSale>, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    super::service::seller_sales(&state.db, &user).await
}

/// The caller's variants for the sale form's list.
#[server(prefix = "/api/fn", endpoint = "seller_sale_variants")]
pub async fn get_variant_choices() -> Result<Vec<super::VariantChoice>, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    super::service::variant_choices(&state.db, &user).await
}

#[server(prefix = "/api/fn", endpoint = "seller_sale_dashboard")]
pub async fn get_sale_dashboard(sale_id: i64) -> Result<super::SaleDashboard, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    super::service::dashboard(&state, &user, crate::ids::SaleId(sale_id)).await
}

/// The seller's form: times are typed in the seller's own zone and sent along in UTC by the live
/// page (`starts_at_utc`); without the wasm, the typed `datetime-local` is read as UTC. The price
/// is typed ("29.99") in the variant's currency.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api/fn", endpoint = "seller_schedule_sale")]
pub async fn schedule_sale(
    sku: String,
    price: String,
    currency: Option<String>,
    starts_at: String,
    ends_at: String,
    starts_at_utc: Option<String>,
    ends_at_utc: Option<String>,
    allocation: String,
    per_buyer_limit: String,
    admission_rate: String,
    existing_accounts_only: Option<String>,
    verified_email_only: Option<String>,
) -> Result<super::SellerSale, AppError> {
    let result = async {
        let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
        let mut errors = crate::error::FieldErrors::default();
        let currency = currency.filter(|c| !c.trim().is_empty()).unwrap_or_else(|| state.rules.currency.to_string());
        let amount = errors.check("price", crate::seller::parse_price(&price, &currency)).unwrap_or(0);
        let mut number = |field: &str, text: &str| errors.check(field, text.trim().parse::<i64>().map_err(|_| format!("Enter a whole number here (got \"{}\").", text.trim()))).unwrap_or(0);
        let input = super::SaleInput {
            sku: sku.clone(),
            price: crate::money::Money::new(amount, &currency),
            starts_at: utc(&starts_at, &starts_at_utc),
            ends_at: utc(&ends_at, &ends_at_utc),
            allocation: number("allocation", &allocation),
            per_buyer_limit: number("per_buyer_limit", &per_buyer_limit),
            admission_rate: number("admission_rate", &admission_rate),
            existing_accounts_only: checked(&existing_accounts_only),
            verified_email_only: checked(&verified_email_only),
        };
        errors.finish()?;
        super::service::schedule(&state, &user, input).await
    }
    .await;
    let keep = [("sku", sku.as_str()), ("price", price.as_str()), ("starts_at", starts_at.as_str()), ("ends_at", ends_at.as_str()), ("allocation", allocation.as_str()), ("per_buyer_limit", per_buyer_limit.as_str()), ("admission_rate", admission_rate.as_str()), ("existing_accounts_only", if checked(&existing_accounts_only) { "true" } else { "" }), ("verified_email_only", if checked(&verified_email_only) { "true" } else { "" })];
    crate::ui::forms::after_form(&result, |s| format!("/seller/sales/{}", s.sale.sale_id), "/seller/sales/new", &keep).await;
    result
}

/// A checkbox of a plain form: sent ("true") when ticked, absent otherwise.
#[cfg(feature = "ssr")]
fn checked(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.is_empty() && v != "false")
}

/// The time the browser converted to UTC, when it did; else the `datetime-local` value
/// ("2026-12-24T12:00") read as UTC, in RFC 3339; anything else as typed.
#[cfg(feature = "ssr")]
fn utc(text: &str, converted: &Option<String>) -> String {
    if let Some(c) = converted.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        return c.to_owned();
    }
    let t = text.trim();
    match t.len() {
        16 => format!("{t}:00Z"),
        19 => format!("{t}Z"),
        _ => t.to_owned(),
    }
}

#[server(prefix = "/api/fn", endpoint = "seller_end_sale")]
pub async fn end_sale(sale_id: i64) -> Result<super::SellerSale, AppError> {
    crate::accounts::form_post(format!("/seller/sales/{sale_id}"), crate::accounts::Need::Seller, |state, user| async move {
        super::service::end_now(&state, &user, crate::ids::SaleId(sale_id)).await
    })
    .await
}

/// The extras switch on the dashboard: `extras_off` true turns them off while the sale is live.
#[server(prefix = "/api/fn", endpoint = "seller_sale_extras")]
pub async fn set_sale_extras(sale_id: i64, extras_off: bool) -> Result<super::SellerSale, AppError> {
    crate::accounts::form_post(format!("/seller/sales/{sale_id}"), crate::accounts::Need::Seller, |state, user| async move {
        super::service::set_extras(&state, &user, crate::ids::SaleId(sale_id), extras_off).await
    })
    .await
}

#[server(prefix = "/api/fn", endpoint = "seller_cancel_sale")]
pub async fn cancel_sale(sale_id: i64) -> Result<super::SellerSale, AppError> {
    crate::accounts::form_post(format!("/seller/sales/{sale_id}"), crate::accounts::Need::Seller, |state, user| async move {
        super::service::cancel(&state, &user, crate::ids::SaleId(sale_id)).await
    })
    .await
}

/// "Remind me" (`remind` true) or no more reminders (false).
#[server(prefix = "/api/fn", endpoint = "sale_remind")]
pub async fn remind_me(sale_id: i64, remind: bool) -> Result<bool, AppError> {
    crate::accounts::form_post(format!("/sales/{sale_id}"), crate::accounts::Need::SignedIn, |state, user| async move {
        let id = crate::ids::SaleId(sale_id);
        if remind { super::service::register(&state, &user, id, None).await } else { super::service::unregister(&state, &user, id).await }
    })
    .await
}

#[server(prefix = "/api/fn", endpoint = "seller_sale_report")]
pub async fn get_sale_report(sale_id: i64) -> Result<super::FairnessReport, AppError> {
    let (state, user) = crate::accounts::caller(crate::accounts::Need::Seller).await?;
    super::service::report(&state, &user, crate::ids::SaleId(sale_id)).await
}
