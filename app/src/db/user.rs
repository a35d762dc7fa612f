use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub password_hash: String,
    pub role: crate::states::Role,
    pub created_at: ChronoDateTimeUtc,
    /// Moves on when the password changes; a session opened in an earlier epoch is ended.
    pub session_epoch: i64,
    /// When the owner opened the link that confirms the address (`accounts::verify`).
    pub email_verified_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
