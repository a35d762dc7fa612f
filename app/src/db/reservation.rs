use sea_orm::entity::prelude::*;

/// Units of one variant held in one warehouse for a checkout until `expires_at`: `held`, then
/// `committed` (sold) or `released` (back in stock), each exactly once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reservations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: Option<i64>,
    pub checkout_ref: String,
    pub variant_id: i64,
    pub warehouse_id: i64,
    pub quantity: i64,
    pub expires_at: ChronoDateTimeUtc,
    pub state: crate::states::ReservationState,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
