//! Scheduling a sale: its allocation moves out of ordinary stock in the same transaction that
//! creates it (never more than is free, taken by conditional updates like a checkout's), so
//! ordinary checkouts can no longer take it.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::{give_back, seller_sale};
use crate::accounts::seller_scope;
use crate::accounts::CurrentUser;
use crate::db::{flash_sale, inventory, product, sale_allocation, variant};
use crate::error::{AppError, FieldErrors};
use crate::flash::{MAX_ALLOCATION, SaleInput, SellerSale};
use crate::ids::SaleId;
use crate::money::Money;
use crate::state::AppState;
use crate::states::{ProductStatus, SaleStatus};

/// The most buyers a waiting room may admit per second.
pub const MAX_ADMISSION_RATE: i64 = 100_000;

fn time(errors: &mut FieldErrors, field: &str, text: &str) -> Option<DateTime<Utc>> {
    let parsed = DateTime::parse_from_rfc3339(text.trim()).map(|t| t.with_timezone(&Utc));
    let what = if field == "starts_at" { "start" } else { "end" };
    errors.check(field, parsed.map_err(|_| format!("Enter the {what} as a date and time, like 2026-12-24T12:00:00Z (got \"{}\").", text.trim())))
}

/// A time as a seller reads it: to the minute, without the RFC 3339 punctuation.
fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// The checks that need no database: times, counts and the price's shape.
fn check_shape(input: &SaleInput, now: DateTime<Utc>, errors: &mut FieldErrors) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let starts = time(errors, "starts_at", &input.starts_at);
    let ends = time(errors, "ends_at", &input.ends_at);
    if let Some(s) = starts.filter(|s| *s <= now) {
        errors.add("starts_at", format!("The start must be in the future: it is {} UTC now, and this start is {} UTC.", minute(now), minute(s)));
    }
    if let (Some(s), Some(e)) = (starts, ends) {
        if e <= s {
            errors.add("ends_at", "The end must be after the start.");
        }
    }
    if !(1..=MAX_ALLOCATION).contains(&input.allocation) {
        errors.add("allocation", format!("Put from 1 to {MAX_ALLOCATION} units on sale (got {}).", input.allocation));
    }
    if input.per_buyer_limit < 1 {
        errors.add("per_buyer_limit", format!("Let each shopper buy at least 1 unit (got {}).", input.per_buyer_limit));
    }
    if !(1..=MAX_ADMISSION_RATE).contains(&input.admission_rate) {
        errors.add("admission_rate", format!("Let in from 1 to {MAX_ADMISSION_RATE} shoppers per second (got {}).", input.admission_rate));
    }
    if input.price.amount <= 0 {
        errors.add("price", "A sale price must be more than 0.");
    }
    Some((starts?, ends?))
}

/// Schedules a sale and moves its allocation out of ordinary stock, in one transaction.
pub async fn schedule(state: &AppState, user: &CurrentUser, input: SaleInput) -> Result<SellerSale, AppError> {
    let scope = seller_scope(user)?;
    let db = &state.db;
    let now = Utc::now();
    let sku = input.sku.trim().to_owned();
    let missing = || AppError::not_found(format!("There is no SKU \"{sku}\" in your shop."));
    let variant = variant::Entity::find().filter(variant::Column::Sku.eq(sku.as_str())).one(db).await?.ok_or_else(missing)?;
    let product = product::Entity::find_by_id(variant.product_id).one(db).await?.ok_or_else(missing)?;
    if scope.is_some_and(|s| s != product.seller_id) {
        return Err(missing());
    }
    if product.status != ProductStatus::Active {
        // Shoppers could not open the product the sale links to.
        let mut errors = FieldErrors::default();
        let state = if product.status == ProductStatus::Draft { "a draft" } else { "archived" };
        errors.add("sku", format!("\"{}\" is {state}, so shoppers cannot see it. Publish the product first (set its status to Active in the product editor), then schedule its sale.", product.title));
        errors.finish()?;
    }
    let (starts_at, ends_at) = checked(&input, &variant, now, state.rules.currency)?;

    let txn = state.writer.begin().await?;
    let sale = flash_sale::ActiveModel {
        product_id: Set(product.id),
        variant_id: Set(variant.id),
        price_amount: Set(input.price.amount),
        currency: Set(variant.currency.clone()),
        starts_at: Set(starts_at),
        ends_at: Set(ends_at),
        allocated: Set(input.allocation),
        sold: Set(0),
        per_buyer_limit: Set(input.per_buyer_limit),
        status: Set(SaleStatus::Scheduled),
        created_at: Set(now),
        admission_rate: Set(input.admission_rate),
        stock_returned_at: Set(None),
        draw_seed: Set(Some(crate::secrets::random_hex())),
        gate_secret: Set(Some(crate::secrets::random_hex())),
        extras_off: Set(false),
        existing_accounts_only: Set(input.existing_accounts_only),
        verified_email_only: Set(input.verified_email_only),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    take_allocation(&txn, sale.id, variant.id, input.allocation).await?;
    txn.commit().await?;
    tracing::info!(sale_id = sale.id, sku = %sku, allocation = input.allocation, "flash sale scheduled");
    crate::catalog::service::announce(state, product.id).await;
    seller_sale(db, user, SaleId(sale.id)).await
}

/// Every check of a sale for `variant`, each problem named by its field; the times when none.
fn checked(input: &SaleInput, variant: &variant::Model, now: DateTime<Utc>, shop: crate::money::Currency) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    let mut errors = FieldErrors::default();
    let times = check_shape(input, now, &mut errors);
    if !shop.is(&input.price.currency) {
        errors.add("price", format!("This shop sells in {shop}; enter the sale price in {shop} (got {}).", input.price.currency));
    } else if input.price.currency != variant.currency {
        errors.add("price", format!("The sale price must be in {}, the variant's currency (got {}).", variant.currency, input.price.currency));
    } else if input.price.amount >= variant.price_amount {
        let regular = Money::new(variant.price_amount, &variant.currency);
        errors.add("price", format!("A sale price must be below the regular price of {} (got {}).", regular.display(), input.price.display()));
    }
    errors.finish()?;
    times.ok_or(AppError::Internal)
}

/// Changes a sale that has not started: price, times, limits and allocation (more is taken
/// from ordinary stock, less goes back), in one transaction. Its SKU stays.
pub async fn update(state: &AppState, user: &CurrentUser, SaleId(id): SaleId, input: SaleInput) -> Result<SellerSale, AppError> {
    let db = &state.db;
    seller_sale(db, user, SaleId(id)).await?; // 404 unless the caller's (an admin: anyone's)
    let sale = flash_sale::Entity::find_by_id(id).one(db).await?.ok_or(AppError::Internal)?;
    let now = Utc::now();
    if sale.status != SaleStatus::Scheduled || now >= sale.starts_at {
        return Err(AppError::Conflict("This sale has started or is over: it can only be ended now.".to_owned()));
    }
    let variant = variant::Entity::find_by_id(sale.variant_id).one(db).await?.ok_or(AppError::Internal)?;
    if input.sku.trim() != variant.sku {
        return Err(AppError::bad("sku", format!("A sale's SKU cannot change (it is {}): cancel it and schedule a new one.", variant.sku)));
    }
    let (starts_at, ends_at) = checked(&input, &variant, now, state.rules.currency)?;
    let txn = state.writer.begin().await?;
    // Conditional on what was read: a start or another edit meanwhile is a 409, not a mix.
    let changed = flash_sale::Entity::update_many()
        .col_expr(flash_sale::Column::PriceAmount, Expr::value(input.price.amount))
        .col_expr(flash_sale::Column::StartsAt, Expr::value(starts_at))
        .col_expr(flash_sale::Column::EndsAt, Expr::value(ends_at))
        .col_expr(flash_sale::Column::Allocated, Expr::value(input.allocation))
        .col_expr(flash_sale::Column::PerBuyerLimit, Expr::value(input.per_buyer_limit))
        .col_expr(flash_sale::Column::AdmissionRate, Expr::value(input.admission_rate))
        .col_expr(flash_sale::Column::ExistingAccountsOnly, Expr::value(input.existing_accounts_only))
        .col_expr(flash_sale::Column::VerifiedEmailOnly, Expr::value(input.verified_email_only))
        .filter(flash_sale::Column::Id.eq(id))
        .filter(flash_sale::Column::Status.eq(SaleStatus::Scheduled))
        .filter(flash_sale::Column::StartsAt.gt(now))
        .filter(flash_sale::Column::Allocated.eq(sale.allocated))
        .exec(&txn)
        .await?;
    state.recent.sales.forget(&id);
    if changed.rows_affected != 1 {
        return Err(AppError::Conflict("This sale changed or started meanwhile. Reload it and try again.".to_owned()));
    }
    let delta = input.allocation - sale.allocated;
    if delta > 0 {
        take_allocation(&txn, id, variant.id, delta).await?;
    } else if delta < 0 {
        give_back(&txn, id, variant.id, -delta, true).await?;
    }
    txn.commit().await?;
    // A gate loaded by an early join gets the new times, limit and allocation.
    let edited = flash_sale::Entity::find_by_id(id).one(db).await?.ok_or(AppError::Internal)?;
    if let Err(e) = super::buy::rewarm(state, &edited).await {
        tracing::warn!(error = %e, sale_id = id, "the stock gate did not take the edit; it reloads at the start");
    }
    crate::catalog::service::announce(state, sale.product_id).await;
    seller_sale(db, user, SaleId(id)).await
}

/// Takes `allocation` units of the variant's free stock (fullest warehouse first), each by a
/// conditional update, and records where they came from. Less free stock than asked is a 400
/// naming the allocation; the caller's transaction then rolls everything back.
async fn take_allocation(txn: &impl ConnectionTrait, sale_id: i64, variant_id: i64, allocation: i64) -> Result<(), AppError> {
    let mut rows = inventory::Entity::find().filter(inventory::Column::VariantId.eq(variant_id)).all(txn).await?;
    let free: i64 = rows.iter().map(|r| r.quantity - r.reserved).sum();
    if free < allocation {
        return Err(AppError::bad("allocation", format!("Only {free} units of this variant are free; the allocation cannot be more (got {allocation}).")));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.quantity - r.reserved));
    let mut left = allocation;
    for row in rows {
        let take = std::cmp::min(left, row.quantity - row.reserved);
        if take <= 0 {
            continue;
        }
        let moved = inventory::Entity::update_many()
            .col_expr(inventory::Column::Quantity, Expr::col(inventory::Column::Quantity).sub(take))
            .col_expr(inventory::Column::Version, Expr::col(inventory::Column::Version).add(1))
            .filter(inventory::Column::Id.eq(row.id))
            .filter(Expr::col(inventory::Column::Quantity).sub(Expr::col(inventory::Column::Reserved)).gte(take))
            .exec(txn)
            .await?;
        if moved.rows_affected != 1 {
            return Err(AppError::Conflict("The stock changed while the sale was being scheduled. Please try again.".to_owned()));
        }
        let share = sale_allocation::Entity::find()
            .filter(sale_allocation::Column::SaleId.eq(sale_id))
            .filter(sale_allocation::Column::WarehouseId.eq(row.warehouse_id))
            .one(txn)
            .await?;
        match share {
            Some(s) => {
                sale_allocation::Entity::update_many()
                    .col_expr(sale_allocation::Column::Quantity, Expr::col(sale_allocation::Column::Quantity).add(take))
                    .filter(sale_allocation::Column::Id.eq(s.id))
                    .exec(txn)
                    .await?;
            }
            None => {
                sale_allocation::ActiveModel { sale_id: Set(sale_id), warehouse_id: Set(row.warehouse_id), quantity: Set(take), ..Default::default() }
                    .insert(txn)
                    .await?;
            }
        }
        left -= take;
        if left == 0 {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(starts: &str, ends: &str) -> SaleInput {
        SaleInput {
            sku: "S-1".into(),
            price: Money::new(500, "EUR"),
            starts_at: starts.into(),
            ends_at: ends.into(),
            allocation: 10,
            per_buyer_limit: 1,
            admission_rate: 50,
            existing_accounts_only: false,
            verified_email_only: false,
        }
    }

    fn fields(input: &SaleInput, now: DateTime<Utc>) -> Vec<String> {
        let mut errors = FieldErrors::default();
        check_shape(input, now, &mut errors);
        errors.finish().err().map(|e| e.fields().into_keys().collect()).unwrap_or_default()
    }

    #[test]
    fn a_sale_needs_a_future_start_an_end_after_it_and_sensible_counts() {
        let now: DateTime<Utc> = "2026-12-02T12:00:00Z".parse().unwrap();
        assert!(fields(&input("2026-12-03T12:00:00Z", "2026-12-03T13:00:00Z"), now).is_empty());
        assert_eq!(fields(&input("2026-12-01T12:00:00Z", "2026-12-03T13:00:00Z"), now), ["starts_at"], "a start in the past");
        assert_eq!(fields(&input("2026-12-03T12:00:00Z", "2026-12-03T11:00:00Z"), now), ["ends_at"], "an end before the start");
        assert_eq!(fields(&input("tomorrow", "2026-12-03T13:00:00Z"), now), ["starts_at"]);
        let mut bad = input("2026-12-03T12:00:00Z", "2026-12-03T13:00:00Z");
        (bad.allocation, bad.per_buyer_limit, bad.admission_rate, bad.price.amount) = (0, 0, 0, 0);
        assert_eq!(fields(&bad, now), ["admission_rate", "allocation", "per_buyer_limit", "price"]);
    }
}
