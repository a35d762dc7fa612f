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

#[derive(DeriveIden)]
enum ProductImages {
    Table,
    Id,
    ProductId,
    Position,
    FileName,
    ContentType,
    ByteSize,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProductImages::Table)
                    .col(ColumnDef::new(ProductImages::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(ProductImages::ProductId).big_integer().not_null())
                    .col(ColumnDef::new(ProductImages::Position).integer().not_null().default(0))
                    .col(ColumnDef::new(ProductImages::FileName).text().not_null().unique_key())
                    .col(ColumnDef::new(ProductImages::ContentType).text().not_null())
                    .col(ColumnDef::new(ProductImages::ByteSize).big_integer().not_null())
                    .col(ColumnDef::new(ProductImages::CreatedAt).timestamp_with_time_zone().not_null())
                    .check(Expr::cust("byte_size > 0"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_product_images_product_id")
                            .from(ProductImages::Table, ProductImages::ProductId)
                            .to(Products::Table, Products::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_product_images_product_id_position")
                    .table(ProductImages::Table)
                    .col(ProductImages::ProductId)
                    .col(ProductImages::Position)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ProductImages::Table).to_owned()).await
    }
}
