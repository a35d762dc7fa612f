use sea_orm::entity::prelude::*;

/// Stock of one variant in one warehouse. The database refuses `quantity < 0`, `reserved < 0`
/// and `reserved > quantity`; `version` is bumped by every conditional update.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inventory")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub variant_id: i64,
    pub warehouse_id: i64,
    pub quantity: i64,
    pub reserved: i64,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
