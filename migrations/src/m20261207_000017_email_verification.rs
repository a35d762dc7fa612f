//! Verified email addresses: `users.email_verified_at` (set when the shopper opens the link
//! that sign-up mails), the links themselves in `email_verifications` (single-use, expiring,
//! only the SHA-256 of the secret kept), and a sale's option `flash_sales.verified_email_only`
//! ("only shoppers who confirmed their email address may join the line").

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000017_email_verification"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    EmailVerifiedAt,
}

#[derive(DeriveIden)]
enum FlashSales {
    Table,
    VerifiedEmailOnly,
}

#[derive(DeriveIden)]
enum EmailVerifications {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Users::Table).add_column(ColumnDef::new(Users::EmailVerifiedAt).timestamp_with_time_zone().null()).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(FlashSales::Table)
                    .add_column(ColumnDef::new(FlashSales::VerifiedEmailOnly).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EmailVerifications::Table)
                    .col(ColumnDef::new(EmailVerifications::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(EmailVerifications::UserId).big_integer().not_null())
                    .col(ColumnDef::new(EmailVerifications::TokenHash).text().not_null().unique_key())
                    .col(ColumnDef::new(EmailVerifications::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(EmailVerifications::ExpiresAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(EmailVerifications::UsedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_email_verifications_user_id")
                            .from(EmailVerifications::Table, EmailVerifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_email_verifications_user_id").table(EmailVerifications::Table).col(EmailVerifications::UserId).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(EmailVerifications::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(FlashSales::Table).drop_column(FlashSales::VerifiedEmailOnly).to_owned()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::EmailVerifiedAt).to_owned()).await
    }
}
