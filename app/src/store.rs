//! What every port adapter can fail with. Callers map it to `AppError::Internal` at the edge.

#[cfg(feature = "ssr")]
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("stored data is not in the expected shape: {0}")]
    Corrupt(String),
}

/// Milliseconds since the Unix epoch, the clock all stores agree on.
#[cfg(feature = "ssr")]
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
