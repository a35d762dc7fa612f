//! Every schema change of Sellout is a migration here. The same migrations run on SQLite (the
//! embedded default) and PostgreSQL; constraints are written with sea-query so both enforce the
//! same rules (money and stock can never go negative, one review per user and product, ...).

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;
mod m20261124_000002_sessions;
mod m20261125_000003_product_images;
mod m20261126_000004_order_lease;
mod m20261127_000005_fulfilment;
mod m20261128_000006_reconciliation;
mod m20261202_000007_sale_scheduling;
mod m20261203_000008_sale_holds;
mod m20261204_000009_express_buy;
mod m20261205_000010_recommendations;
mod m20261206_000011_api_tokens;
mod m20261206_000012_refund_guards;
mod m20261206_000013_abuse_guards;
mod m20261207_000014_seller_fulfilment;
mod m20261207_000015_shipments;
mod m20261207_000016_sale_eligibility;
mod m20261207_000017_email_verification;
mod m20261207_000018_gate_secrets;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261124_000002_sessions::Migration),
            Box::new(m20261125_000003_product_images::Migration),
            Box::new(m20261126_000004_order_lease::Migration),
            Box::new(m20261127_000005_fulfilment::Migration),
            Box::new(m20261128_000006_reconciliation::Migration),
            Box::new(m20261202_000007_sale_scheduling::Migration),
            Box::new(m20261203_000008_sale_holds::Migration),
            Box::new(m20261204_000009_express_buy::Migration),
            Box::new(m20261205_000010_recommendations::Migration),
            Box::new(m20261206_000011_api_tokens::Migration),
            Box::new(m20261206_000012_refund_guards::Migration),
            Box::new(m20261206_000013_abuse_guards::Migration),
            Box::new(m20261207_000014_seller_fulfilment::Migration),
            Box::new(m20261207_000015_shipments::Migration),
            Box::new(m20261207_000016_sale_eligibility::Migration),
            Box::new(m20261207_000017_email_verification::Migration),
            Box::new(m20261207_000018_gate_secrets::Migration),
        ]
    }
}
