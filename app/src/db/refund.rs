use sea_orm::entity::prelude::*;

/// Money given back on a captured payment (all of it, or some lines).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub payment_id: i64,
    pub order_id: i64,
    pub amount: i64,
    pub currency: String,
    pub provider_refund_id: Option<String>,
    pub reason: String,
    pub created_at: ChronoDateTimeUtc,
    pub idempotency_key: Option<String>,
    /// The lines it covers, `order_item_id:quantity` comma-separated; empty for a whole order.
    pub lines: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
