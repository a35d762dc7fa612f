use sea_orm::entity::prelude::*;

/// An uploaded picture of a product; the file is `media/products/{file_name}` under the data dir.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_images")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub product_id: i64,
    pub position: i32,
    #[sea_orm(unique)]
    pub file_name: String,
    pub content_type: String,
    pub byte_size: i64,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
