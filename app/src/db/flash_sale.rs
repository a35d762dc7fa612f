use sea_orm::entity::prelude::*;

/// A flash sale of one variant: `allocated` units moved out of ordinary stock, `sold <= allocated`
/// (a CHECK, the final word whatever the stock gate says), at most `per_buyer_limit` each.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "flash_sales")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub product_id: i64,
    pub variant_id: i64,
    pub price_amount: i64,
    pub currency: String,
    pub starts_at: ChronoDateTimeUtc,
    pub ends_at: ChronoDateTimeUtc,
    pub allocated: i64,
    pub sold: i64,
    pub per_buyer_limit: i64,
    pub status: crate::states::SaleStatus,
    pub created_at: ChronoDateTimeUtc,
    /// Buyers the waiting room lets in per second.
    pub admission_rate: i64,
    /// When what was unsold went back to ordinary stock (set once, conditionally).
    pub stock_returned_at: Option<ChronoDateTimeUtc>,
    /// The secret the pre-start order of the waiting room is drawn from; its SHA-256 is shown
    /// before the start, the seed itself after.
    pub draw_seed: Option<String>,
    /// Signs the waiting room's admission tokens; never shown.
    pub gate_secret: Option<String>,
    /// The seller's switch: while this sale is live the shop's pages go without their extras
    /// (recommendations, reviews, wishlist), leaving the database to the sale.
    pub extras_off: bool,
    /// Only accounts made before the sale was scheduled (`created_at`) may join its line.
    pub existing_accounts_only: bool,
    /// Only shoppers who confirmed their email address may join its line.
    pub verified_email_only: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
