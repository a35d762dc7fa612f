use sea_orm::entity::prelude::*;

/// Something to tell the outside world (mail), written in the same transaction as the change
/// it describes; a worker sends it and stamps `processed_at`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub topic: String,
    pub payload: String,
    pub attempts: i32,
    pub created_at: ChronoDateTimeUtc,
    pub processed_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
