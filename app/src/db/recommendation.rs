use sea_orm::entity::prelude::*;

/// "Customers also bought": `recommended_id` was in `orders` paid orders with `product_id`;
/// `rank` 1 is the most bought with. Rewritten whole by the recommendations worker.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recommendations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub product_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub recommended_id: i64,
    pub orders: i64,
    pub rank: i32,
    pub computed_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
