//! "Remind me": a shopper registers for a sale before its start and gets mail (the outbox)
//! when it starts, once however often they registered; they may unregister. Registering may
//! keep an express buy's details (an address and a card, which checkout checks and saves with
//! the provider before it hands them here), so that once admitted the shopper buys in one step.

use chrono::Utc;
use sea_orm::{ActiveModelBehavior, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::find;
use crate::accounts::CurrentUser;
use crate::db::sale_registration;
use crate::error::AppError;
use crate::flash::{ExpressView, RegistrationView};
use crate::ids::SaleId;
use crate::state::AppState;

/// Refuses (409) a registration for a sale that has started or is over: checked before
/// checkout saves a card for it, and again as the registration is written.
pub async fn open_for_registration(state: &AppState, SaleId(id): SaleId) -> Result<(), AppError> {
    let sale = find(state, id).await?;
    if Utc::now() >= sale.starts_at || sale.status != crate::states::SaleStatus::Scheduled {
        return Err(AppError::Conflict("This sale has started (or is over): there is nothing to remind you of. Join the queue instead.".to_owned()));
    }
    Ok(())
}

/// Registers the shopper for the start's mail, with an express buy's checked `details` when
/// given (given again, they replace the saved ones). True when this call registered them;
/// registering again changes nothing else.
pub async fn register(state: &AppState, user: &CurrentUser, SaleId(id): SaleId, details: Option<ExpressDetails>) -> Result<bool, AppError> {
    open_for_registration(state, SaleId(id)).await?;
    // Whatever happens below, this node asks afresh whether the sale has express buys.
    state.recent.sale_has_express.forget(&id);
    if registration_row(state, user.user_id, id).await?.is_some() {
        if let Some(d) = &details {
            replace_details(state, user.user_id, id, d).await?;
        }
        return Ok(false);
    }
    let mut row = sale_registration::ActiveModel { sale_id: Set(id), user_id: Set(user.user_id), created_at: Set(Utc::now()), ..Default::default() };
    if let Some(d) = &details {
        set_details(&mut row, d);
    }
    match row.insert(&state.db).await {
        Ok(_) => Ok(true),
        // Another tab registered at the same moment: theirs stands, with these details.
        Err(e) if crate::db::is_unique_violation(&e) => {
            if let Some(d) = &details {
                replace_details(state, user.user_id, id, d).await?;
            }
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

async fn replace_details(state: &AppState, user_id: i64, sale_id: i64, d: &ExpressDetails) -> Result<(), AppError> {
    let mut changes = sale_registration::ActiveModel::new();
    set_details(&mut changes, d);
    sale_registration::Entity::update_many()
        .set(changes)
        .filter(sale_registration::Column::SaleId.eq(sale_id))
        .filter(sale_registration::Column::UserId.eq(user_id))
        .exec(&state.db)
        .await?;
    Ok(())
}

fn set_details(row: &mut sale_registration::ActiveModel, d: &ExpressDetails) {
    row.shipping_address_id = Set(Some(d.shipping_address_id));
    row.payment_method_id = Set(Some(d.payment_method_id.clone()));
    row.card_label = Set(Some(d.card_label.clone()));
}

/// No more mail for this sale, and no express buy. True when the shopper was registered.
pub async fn unregister(state: &AppState, user: &CurrentUser, SaleId(id): SaleId) -> Result<bool, AppError> {
    find(state, id).await?;
    let gone = sale_registration::Entity::delete_many()
        .filter(sale_registration::Column::SaleId.eq(id))
        .filter(sale_registration::Column::UserId.eq(user.user_id))
        .exec(&state.db)
        .await?;
    Ok(gone.rows_affected > 0)
}

async fn registration_row(state: &AppState, user_id: i64, sale_id: i64) -> Result<Option<sale_registration::Model>, AppError> {
    Ok(sale_registration::Entity::find()
        .filter(sale_registration::Column::SaleId.eq(sale_id))
        .filter(sale_registration::Column::UserId.eq(user_id))
        .one(&state.db)
        .await?)
}

/// The shopper's registration for a sale, if any.
pub async fn registration(state: &AppState, user: &CurrentUser, sale_id: i64) -> Result<Option<RegistrationView>, AppError> {
    Ok(registration_row(state, user.user_id, sale_id).await?.map(|r| RegistrationView {
        sale_id,
        express: express_of(&r).map(|d| ExpressView { shipping_address_id: d.shipping_address_id, card: d.card_label }),
    }))
}

/// The express buy's details of a registration, when both were saved.
fn express_of(r: &sale_registration::Model) -> Option<ExpressDetails> {
    match (r.shipping_address_id, &r.payment_method_id) {
        (Some(address), Some(pm)) => Some(ExpressDetails {
            shipping_address_id: address,
            payment_method_id: pm.clone(),
            card_label: r.card_label.clone().unwrap_or_else(|| "Saved card".to_owned()),
        }),
        _ => None,
    }
}

/// An express buy's details as saved with a registration: checked by checkout (the address is
/// the shopper's, the card is kept by the provider for off-session payments) before it hands
/// them to `register`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpressDetails {
    pub shipping_address_id: i64,
    /// The provider's id of the saved card (`pm_…`).
    pub payment_method_id: String,
    /// How pages name the card ("Visa •••• 4242").
    pub card_label: String,
}

/// What the shopper saved for an express buy of this sale.
pub async fn express_details(state: &AppState, user_id: i64, sale_id: i64) -> Result<Option<ExpressDetails>, AppError> {
    Ok(registration_row(state, user_id, sale_id).await?.as_ref().and_then(express_of))
}
