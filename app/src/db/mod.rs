//! SeaORM entities for the tables the application reads and writes (server only). The schema
//! itself lives in the `migrations` crate; these mirror it column for column.

pub mod address;
pub mod api_token;
pub mod cart_line;
pub mod category;
pub mod email_verification;
pub mod flash_sale;
pub mod inventory;
pub mod order;
pub mod order_item;
pub mod outbox;
pub mod payment;
pub mod payment_customer;
pub mod product;
pub mod product_image;
pub mod reconciliation_finding;
pub mod recommendation;
pub mod refund;
pub mod reservation;
pub mod review;
pub mod sale_allocation;
pub mod sale_hold;
pub mod sale_registration;
pub mod seller;
pub mod shipment;
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
        opt.map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_connect(|conn, _| {
                Box::pin(async move {
                    let mut handle = conn.lock_handle().await?;
                    match sqlite_plans_stay(&mut handle, Some(true)) {
                        Ok(true) => Ok(()),
                        Ok(false) => Err(sea_orm::sqlx::Error::Protocol("SQLite left SQLITE_DBCONFIG_ENABLE_QPSG off".into())),
                        Err(code) => Err(sea_orm::sqlx::Error::Protocol(format!("SQLite refused SQLITE_DBCONFIG_ENABLE_QPSG ({code})"))),
                    }
                })
            })
        });
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

/// Switches SQLite's query planner stability guarantee on or off for one connection (`None`:
/// leaves it), and says whether it is on: with it a statement's plan does not depend on the values bound to
/// it, so a prepared statement is run again as it is.
///
/// Why: `perf record` of signed-in product pages on the embedded default put about 10 % of
/// the shop's time in `sqlite3Reprepare`. SeaORM binds every `LIMIT` (`.one()` is `LIMIT ?`),
/// and SQLite 3.51 reads a bound `LIMIT` when it plans (`sqlite3ExprIsInteger` in
/// `computeLimitRegisters`), marking the statement to be prepared again whenever that
/// parameter is bound anew: every `.one()` was parsed and planned again on each call, though
/// sqlx keeps it prepared. The guarantee stops SQLite from reading bound values at planning
/// (it plans `LIMIT ?` as any limit), which is also what PostgreSQL does with a prepared
/// statement.
pub fn sqlite_plans_stay(handle: &mut sea_orm::sqlx::sqlite::LockedSqliteHandle<'_>, on: Option<bool>) -> Result<bool, i32> {
    let wanted: std::ffi::c_int = match on {
        Some(true) => 1,
        Some(false) => 0,
        None => -1,
    };
    let mut now: std::ffi::c_int = -1;
    let raw = handle.as_raw_handle();
    // SAFETY: `raw` is the open connection `handle` holds locked for this call;
    // SQLITE_DBCONFIG_ENABLE_QPSG takes an int (1 on, 0 off, -1 leave) and an int* that
    // receives the setting, as `sqlite3_db_config`'s documentation gives.
    let code = unsafe { libsqlite3_sys::sqlite3_db_config(raw.as_ptr(), libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG, wanted, &mut now as *mut std::ffi::c_int) };
    if code == libsqlite3_sys::SQLITE_OK { Ok(now == 1) } else { Err(code) }
}

/// Where write transactions begin, so domain code never asks which database it runs on.
/// On SQLite (one writer at a time anyway) this process's write transactions take turns on an
/// in-process lock, and each takes SQLite's write lock first (as `BEGIN IMMEDIATE` would): a
/// transaction that reads first and writes later otherwise fails at once with "database is
/// locked" when another connection wrote meanwhile, instead of waiting its turn. On PostgreSQL a
/// write transaction is a plain transaction and they run side by side.
#[derive(Clone)]
pub struct Writer {
    db: DatabaseConnection,
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Writer {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db, turn: Default::default() }
    }

    /// A write transaction; dropping it without `commit` rolls it back.
    pub async fn begin(&self) -> Result<WriteTxn, sea_orm::DbErr> {
        use sea_orm::{ConnectionTrait, TransactionTrait};
        let sqlite = self.db.get_database_backend() == sea_orm::DbBackend::Sqlite;
        let turn = if sqlite { Some(self.turn.clone().lock_owned().await) } else { None };
        let txn = self.db.begin().await?;
        if sqlite {
            txn.execute_unprepared("UPDATE warehouses SET id = id WHERE 1 = 0").await?;
        }
        Ok(WriteTxn { txn, _turn: turn })
    }
}

/// A write transaction from `Writer::begin`: use it as any connection, then `commit`.
pub struct WriteTxn {
    txn: sea_orm::DatabaseTransaction,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), sea_orm::DbErr> {
        self.txn.commit().await
    }
}

#[async_trait::async_trait]
impl sea_orm::ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> sea_orm::DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: sea_orm::Statement) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: sea_orm::Statement) -> Result<Option<sea_orm::QueryResult>, sea_orm::DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: sea_orm::Statement) -> Result<Vec<sea_orm::QueryResult>, sea_orm::DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

/// Whether a write failed on a UNIQUE constraint (an email, a SKU, an idempotency key or event
/// id already there), the one database error domain code turns into its own answer. The same
/// test on SQLite and PostgreSQL.
pub fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

/// A timestamp as the API and pages show it: RFC 3339, UTC, whole seconds.
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
