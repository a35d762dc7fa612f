use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_findings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub found_at: ChronoDateTimeUtc,
    pub kind: crate::states::FindingKind,
    pub intent_id: String,
    pub order_id: Option<i64>,
    pub detail: String,
    pub resolved: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
