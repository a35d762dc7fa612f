use sea_orm::entity::prelude::*;

/// Units of a sale the stock gate handed to one shopper: `held` until checked out (`ordered`:
/// counted in the sale's `sold`), `paid`, or given back (`released`) exactly once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sale_holds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: crate::ids::HoldId,
    pub sale_id: i64,
    pub user_id: i64,
    pub quantity: i64,
    pub state: crate::states::HoldState,
    pub expires_at: ChronoDateTimeUtc,
    /// Extended once, when its payment began.
    pub extended: bool,
    pub order_id: Option<i64>,
    pub created_at: ChronoDateTimeUtc,
    pub released_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
