use sea_orm::entity::prelude::*;

/// A shopper who asked to be told when a sale starts (one row per shopper and sale), with
/// what they saved for an express buy: a shipping address and the provider's payment method.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sale_registrations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub sale_id: i64,
    pub user_id: i64,
    pub created_at: ChronoDateTimeUtc,
    pub shipping_address_id: Option<i64>,
    pub payment_method_id: Option<String>,
    /// How the page names the saved card ("Visa •••• 4242").
    pub card_label: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
