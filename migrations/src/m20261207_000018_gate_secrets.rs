//! Every sale has its own random gate secret (the key of its admission tokens). Sales made
//! before `flash_sales.gate_secret` existed get one here, from the database's own strong random
//! source (PostgreSQL's `gen_random_uuid`, SQLite's `randomblob`): the shop no longer falls back
//! to a secret anyone could guess from the sale's id, and refuses to run a sale without one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000018_gate_secrets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let random_hex = match manager.get_database_backend() {
            // Two version-4 UUIDs: 244 random bits, 64 hex digits.
            DatabaseBackend::Postgres => "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')",
            _ => "lower(hex(randomblob(32)))",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!("UPDATE flash_sales SET gate_secret = {random_hex} WHERE gate_secret IS NULL"))
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
