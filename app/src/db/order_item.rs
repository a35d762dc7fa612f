use sea_orm::entity::prelude::*;

/// A line of an order with the price as it was at checkout.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub variant_id: i64,
    pub product_id: i64,
    pub title: String,
    pub sku: String,
    pub unit_price: i64,
    pub currency: String,
    pub quantity: i64,
    pub line_total: i64,
    /// Units refunded or being refunded; never above `quantity`.
    pub refunded_quantity: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
