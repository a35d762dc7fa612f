//! Who is asking: the session (tower-sessions) holds the signed-in user's id, or for a guest
//! the key of their cart. Sign-in rotates the session id and merges the guest cart.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::Session;

use super::*;
use crate::cart::CartOwner;
use crate::state::AppState;

const USER_KEY: &str = "uid";
const GUEST_CART_KEY: &str = "guest_cart";
/// The account's session epoch when this session signed in (absent: 0, the first epoch).
const EPOCH_KEY: &str = "epoch";

pub async fn user_id(session: &Session) -> Result<Option<i64>, AppError> {
    Ok(session.get::<i64>(USER_KEY).await?)
}

/// The signed-in user, as read in the last few seconds (`AppState::recent`): every
/// authenticated request asks, so the database is not. A session opened before the account's
/// password changed (an older epoch) is ended here: its data deleted, the caller nobody.
pub async fn current_user(state: &AppState, session: &Session) -> Result<Option<CurrentUser>, AppError> {
    let Some(id) = user_id(session).await? else { return Ok(None) };
    let epoch = session.get::<i64>(EPOCH_KEY).await?.unwrap_or(0);
    let mut known = state.recent.users.get(&id);
    // A session newer than what this node read changed the password a moment ago (here or
    // on another node): read again before deciding.
    if known.as_ref().is_none_or(|(_, e)| *e < epoch) {
        known = service::load_signed_in(&state.db, id).await?;
        if let Some(k) = &known {
            state.recent.users.put(id, k.clone());
        }
    }
    match known {
        Some((user, e)) if e == epoch => Ok(Some(user)),
        Some(_) => {
            tracing::info!(user = id, "a session from before a password change was ended");
            session.flush().await?;
            Ok(None)
        }
        None => Ok(None),
    }
}

/// What the header shows the caller: who is signed in and how full their cart is.
pub async fn header_state(state: &AppState, session: &Session) -> Result<HeaderState, AppError> {
    let user = current_user(state, session).await?;
    let owner = match &user {
        Some(u) => Some(CartOwner::User(u.user_id)),
        None => guest_cart(session, false).await?,
    };
    let cart_count = match owner {
        Some(o) => state.stores.carts.lines(&o).await?.iter().map(|l| l.quantity).sum(),
        None => 0,
    };
    Ok(HeaderState { user, cart_count })
}

/// The cart of whoever is asking. A guest gets a cart key on their first write (`create`);
/// before that they have no cart (and reading one creates no session).
pub async fn cart_owner(state: &AppState, session: &Session, create: bool) -> Result<Option<CartOwner>, AppError> {
    // Through `current_user`: a session a password change ended is a guest's from now on.
    if let Some(user) = current_user(state, session).await? {
        return Ok(Some(CartOwner::User(user.user_id)));
    }
    guest_cart(session, create).await
}

/// The guest cart of a session nobody is signed in to (see `cart_owner`).
pub async fn guest_cart(session: &Session, create: bool) -> Result<Option<CartOwner>, AppError> {
    if let Some(key) = session.get::<String>(GUEST_CART_KEY).await? {
        return Ok(Some(CartOwner::Guest(key)));
    }
    if !create {
        return Ok(None);
    }
    let key = Id::default().to_string();
    session.insert(GUEST_CART_KEY, &key).await?;
    Ok(Some(CartOwner::Guest(key)))
}

/// Signs `user` in: a new session id (no fixation), the guest cart merged into theirs.
/// Returns what the merge had to cap, for the shopper to read.
pub async fn sign_in(state: &AppState, session: &Session, user: &CurrentUser) -> Result<Vec<String>, AppError> {
    let (fresh, epoch) = service::load_signed_in(&state.db, user.user_id).await?.ok_or(AppError::Internal)?;
    let guest = session.get::<String>(GUEST_CART_KEY).await?;
    session.cycle_id().await?;
    session.remove::<String>(GUEST_CART_KEY).await?;
    session.insert(USER_KEY, user.user_id).await?;
    session.insert(EPOCH_KEY, epoch).await?;
    state.recent.users.put(user.user_id, (fresh, epoch));
    match guest {
        Some(key) => crate::cart::service::merge(state, &CartOwner::Guest(key), &CartOwner::User(user.user_id)).await,
        None => Ok(Vec::new()),
    }
}

/// After this session changed the account's password (`service::change_password`): it stays
/// signed in, under a new id, in the new epoch; every other session of the account is over.
pub async fn moved_to_epoch(state: &AppState, session: &Session, user_id: i64, epoch: i64) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(EPOCH_KEY, epoch).await?;
    if let Some(known) = service::load_signed_in(&state.db, user_id).await? {
        state.recent.users.put(user_id, known);
    }
    Ok(())
}

/// A new signed-in session for `user_id` written straight to `store`, as `sign_in` leaves one,
/// without a request: for shoppers made in bulk for a load test (`sellout shoppers`). Returns the
/// cookie value.
pub async fn open_signed_in(store: &dyn SessionStore, user_id: i64, lasts: tower_sessions::cookie::time::Duration) -> Result<String, AppError> {
    let mut data = std::collections::HashMap::new();
    data.insert(USER_KEY.to_owned(), serde_json::Value::from(user_id));
    let mut record = Record { id: Id::default(), data, expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc() + lasts };
    store.create(&mut record).await.map_err(|e| {
        tracing::error!(error = %e, "creating a session");
        AppError::Internal
    })?;
    Ok(record.id.to_string())
}

/// Ends the session: its data is deleted and the next response carries a new id.
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await?;
    Ok(())
}

pub async fn require(state: &AppState, session: &Session, need: Need) -> Result<CurrentUser, AppError> {
    let user = current_user(state, session).await?;
    authorize(user.as_ref(), need).cloned()
}

// ---------------------------------------------------------------------------------------------

/// tower-sessions store on the `sessions` table, for the embedded default: sessions survive a
/// restart (so do guest carts, which hang off them). Production uses the Redis store.
#[derive(Clone, Debug)]
pub struct SqlSessionStore {
    db: DatabaseConnection,
}

impl SqlSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    fn stmt(&self, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
        let backend = self.db.get_database_backend();
        let sql = if backend == DbBackend::Postgres {
            // $1, $2, … instead of ?
            let mut out = String::new();
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
            }
            out
        } else {
            sql.to_owned()
        };
        Statement::from_sql_and_values(backend, sql, values)
    }

    /// Deletes sessions past their expiry; returns how many.
    pub async fn delete_expired(&self) -> Result<u64, sea_orm::DbErr> {
        let now = chrono::Utc::now().timestamp();
        Ok(self.db.execute_raw(self.stmt("DELETE FROM sessions WHERE expires_at < ?", vec![now.into()])).await?.rows_affected())
    }
}

fn backend_err(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait::async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
            let res = self
                .db
                .execute_raw(self.stmt(
                    "INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                    vec![record.id.to_string().into(), data.into(), record.expiry_date.unix_timestamp().into()],
                ))
                .await
                .map_err(backend_err)?;
            if res.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        self.db
            .execute_raw(self.stmt(
                "INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
                vec![record.id.to_string().into(), data.into(), record.expiry_date.unix_timestamp().into()],
            ))
            .await
            .map_err(backend_err)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = chrono::Utc::now().timestamp();
        let row = self
            .db
            .query_one_raw(self.stmt("SELECT data, expires_at FROM sessions WHERE id = ? AND expires_at > ?", vec![id.to_string().into(), now.into()]))
            .await
            .map_err(backend_err)?;
        let Some(row) = row else { return Ok(None) };
        let data: String = row.try_get("", "data").map_err(backend_err)?;
        let expires: i64 = row.try_get("", "expires_at").map_err(backend_err)?;
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?,
            expiry_date: tower_sessions::cookie::time::OffsetDateTime::from_unix_timestamp(expires)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.db.execute_raw(self.stmt("DELETE FROM sessions WHERE id = ?", vec![id.to_string().into()])).await.map_err(backend_err)?;
        Ok(())
    }
}

/// Object-safe view of a session store, so the layer can take whichever one the server chose
/// (SQL here, Redis from the server crate) behind one type.
#[async_trait::async_trait]
pub trait SessionStoreDyn: std::fmt::Debug + Send + Sync + 'static {
    async fn create(&self, record: &mut Record) -> session_store::Result<()>;
    async fn save(&self, record: &Record) -> session_store::Result<()>;
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>>;
    async fn delete(&self, id: &Id) -> session_store::Result<()>;
}

#[async_trait::async_trait]
impl<S: SessionStore> SessionStoreDyn for S {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        SessionStore::create(self, record).await
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        SessionStore::save(self, record).await
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        SessionStore::load(self, id).await
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        SessionStore::delete(self, id).await
    }
}

#[derive(Clone, Debug)]
pub struct AnySessionStore(pub Arc<dyn SessionStoreDyn>);

#[async_trait::async_trait]
impl SessionStore for AnySessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.0.create(record).await
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.0.save(record).await
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.0.load(id).await
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.delete(id).await
    }
}
