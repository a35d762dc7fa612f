//! Pictures a seller uploads. The bytes live under the data dir (`media/products/`), named by
//! a random id so a URL never changes meaning and can be cached for a year; this table says
//! which product shows which files, in what order.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000003_product_images"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("product_images"))
                    .col(ColumnDef::new(Alias::new("id")).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Alias::new("product_id")).big_integer().not_null())
                    .col(ColumnDef::new(Alias::new("position")).integer().not_null().default(0))
                    .col(ColumnDef::new(Alias::new("file_name")).text().not_null().unique_key())
                    .col(ColumnDef::new(Alias::new("content_type")).text().not_null())
                    .col(ColumnDef::new(Alias::new("byte_size")).big_integer().not_null())
                    .col(ColumnDef::new(Alias::new("created_at")).timestamp_with_time_zone().not_null())
                    .check(Expr::cust("byte_size > 0"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_product_images_product_id")
                            .from(Alias::new("product_images"), Alias::new("product_id"))
                            .to(Alias::new("products"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_product_images_product_id_position")
                    .table(Alias::new("product_images"))
                    .col(Alias::new("product_id"))
                    .col(Alias::new("position"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Alias::new("product_images")).to_owned()).await
    }
}
