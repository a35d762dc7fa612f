use sea_orm::entity::prelude::*;

/// One seller's share of an order, once they shipped it (with a tracking number) or cancelled
/// it; no row yet means the seller has still to ship. One per order and seller.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub seller_id: i64,
    pub tracking_number: Option<String>,
    /// Who carries it (`carriers::known` gives a tracking link for the known ones).
    pub carrier: Option<String>,
    pub shipped_at: Option<ChronoDateTimeUtc>,
    pub delivered_at: Option<ChronoDateTimeUtc>,
    /// The seller cancelled their share before shipping it (its lines were refunded).
    pub cancelled_at: Option<ChronoDateTimeUtc>,
    pub cancel_reason: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
