//! SeaORM entities for the tables the application reads and writes (server only). The schema
//! itself lives in the `migrations` crate; these mirror it column for column.

pub mod address;
pub mod cart_line;
pub mod category;
pub mod flash_sale;
pub mod inventory;
pub mod order;
pub mod order_item;
pub mod outbox;
pub mod payment;
pub mod product;
pub mod product_image;
pub mod reconciliation_finding;
pub mod refund;
pub mod reservation;
pub mod review;
pub mod seller;
pub mod user;
pub mod variant;
pub mod warehouse;
pub mod webhook_event;
pub mod wishlist;

pub use sea_orm::DatabaseConnection;

/// Opens the database and runs pending migrations is *not* done here: the server decides when
/// to migrate. SQLite gets foreign keys switched on and a busy timeout so concurrent writers
/// wait instead of failing.
pub async fn connect(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut opt = sea_orm::ConnectOptions::new(url.to_owned());
    opt.sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // One writer at a time in SQLite: a small pool avoids lock churn.
        opt.max_connections(8).min_connections(1);
    } else {
        opt.max_connections(32).min_connections(1);
    }
    let db = sea_orm::Database::connect(opt).await?;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        use sea_orm::ConnectionTrait;
        db.execute_unprepared("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")
            .await?;
    }
    Ok(db)
}

/// A write transaction. On SQLite it takes the write lock first (as `BEGIN IMMEDIATE` would):
/// a transaction that reads first and writes later otherwise fails at once with "database is
/// locked" when another connection wrote meanwhile, instead of waiting its turn. On PostgreSQL
/// it is a plain transaction.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let txn = db.begin().await?;
    if txn.get_database_backend() == sea_orm::DbBackend::Sqlite {
        txn.execute_unprepared("UPDATE warehouses SET id = id WHERE 1 = 0").await?;
    }
    Ok(txn)
}

/// A timestamp as the API and pages show it: RFC 3339, UTC, whole seconds.
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
