use sea_orm::entity::prelude::*;

/// One payment attempt of an order: created → authorized → captured → settled, or → voided /
/// refunded / failed. `idempotency_key` (unique) is derived from the order and attempt, so an
/// attempt can reach the provider at most once as far as we are concerned.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub provider: String,
    pub intent_id: Option<String>,
    pub state: crate::states::PaymentState,
    pub amount: i64,
    pub currency: String,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub attempt: i32,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
