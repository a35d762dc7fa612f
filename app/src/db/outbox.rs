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

/// Writes an outbox row (inside the caller's transaction).
pub async fn enqueue(db: &impl ConnectionTrait, topic: &str, payload: serde_json::Value) -> Result<(), DbErr> {
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "INSERT INTO outbox (topic, payload, attempts, created_at) VALUES ($1, $2, 0, $3)",
        _ => "INSERT INTO outbox (topic, payload, attempts, created_at) VALUES (?, ?, 0, ?)",
    };
    db.execute_raw(sea_orm::Statement::from_sql_and_values(db.get_database_backend(), sql, [topic.into(), payload.to_string().into(), chrono::Utc::now().into()]))
        .await
        .map(|_| ())
}
