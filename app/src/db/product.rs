use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub seller_id: i64,
    pub category_id: i64,
    pub title: String,
    pub description: String,
    pub brand: String,
    /// Comma-separated, lower-case.
    pub tags: String,
    /// Only `Active` products are shown to shoppers.
    pub status: crate::states::ProductStatus,
    pub rating_sum: i64,
    pub rating_count: i64,
    pub image_count: i32,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
