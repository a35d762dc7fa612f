//! Guards against abuse of accounts and ratings:
//! - `users.session_epoch`: a session remembers the epoch it was opened in; changing the
//!   password moves the account's epoch on, which ends every other session at its next request
//!   (whatever store holds the sessions, none has to be searched).
//! - Only verified purchases count in a product's rating from now on: the aggregate is
//!   recomputed from them (reviews without a purchase stay, shown apart).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000013_abuse_guards"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    SessionEpoch,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::SessionEpoch).big_integer().not_null().default(0).to_owned())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE products SET \
             rating_sum = COALESCE((SELECT SUM(r.rating) FROM reviews r WHERE r.product_id = products.id AND r.verified_purchase), 0), \
             rating_count = (SELECT COUNT(*) FROM reviews r WHERE r.product_id = products.id AND r.verified_purchase)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::SessionEpoch).to_owned()).await
    }
}
