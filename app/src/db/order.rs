use sea_orm::entity::prelude::*;

/// An order; created `pending` under the client's idempotency key, then `paid`, `shipped`,
/// `delivered`, or `cancelled` / `refunded` / `expired`. Totals are minor units of `currency`
/// and `total = subtotal + shipping + tax` (a CHECK).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub status: crate::states::OrderStatus,
    pub currency: String,
    pub subtotal: i64,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    /// JSON snapshot of the address at checkout.
    pub shipping_address: String,
    pub shipping_method: crate::states::ShippingMethod,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    /// Fingerprint of the request that created the order: the same key with another body is refused.
    pub request_hash: String,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    /// A request is working on this order until then (the checkout lease).
    pub locked_until: Option<ChronoDateTimeUtc>,
    /// An unpaid order's reservation runs out then.
    pub expires_at: Option<ChronoDateTimeUtc>,
    pub tracking_number: Option<String>,
    pub shipped_at: Option<ChronoDateTimeUtc>,
    pub delivered_at: Option<ChronoDateTimeUtc>,
    /// Minor units refunded or being refunded (reserved before the provider is called); never
    /// above `total`.
    pub refunded: i64,
    /// Who carries a shipped order (`carriers::known` gives a tracking link for the known ones).
    pub carrier: Option<String>,
    /// `shopper`, `seller` or `admin`, for a cancelled order.
    pub cancelled_by: Option<String>,
    /// Why a seller or an admin cancelled it (a shopper gives none).
    pub cancel_reason: Option<String>,
    pub cancelled_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
