//! Account storage and password checks. Hashing runs on the blocking pool: argon2id is slow on
//! purpose and must not stall the async workers.

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};

use sea_orm::sea_query::Expr;

use super::*;
use crate::db::{address, seller, user};

fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "accounts");
    AppError::Internal
}

pub async fn hash_password(password: &str) -> Result<String, AppError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(internal)
    })
    .await
    .map_err(internal)?
}

/// False for a wrong password and for a stored value that is no hash (e.g. demo accounts).
async fn verify_password(password: &str, stored: &str) -> Result<bool, AppError> {
    let (password, stored) = (password.to_owned(), stored.to_owned());
    tokio::task::spawn_blocking(move || match PasswordHash::new(&stored) {
        Ok(hash) => Argon2::default().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    })
    .await
    .map_err(internal)
}

pub async fn load_user(db: &DatabaseConnection, user_id: i64) -> Result<Option<CurrentUser>, AppError> {
    Ok(load_signed_in(db, user_id).await?.map(|(u, _)| u))
}

/// The user and their session epoch (see `session::current_user`).
pub async fn load_signed_in(db: &DatabaseConnection, user_id: i64) -> Result<Option<(CurrentUser, i64)>, AppError> {
    let Some(u) = user::Entity::find_by_id(user_id).one(db).await? else { return Ok(None) };
    let seller = seller::Entity::find().filter(seller::Column::UserId.eq(u.id)).one(db).await?;
    let user = CurrentUser {
        user_id: u.id,
        email: u.email,
        role: u.role,
        seller: seller.map(|s| SellerProfile { seller_id: s.id, name: s.name, slug: s.slug }),
    };
    Ok(Some((user, u.session_epoch)))
}

/// Creates the account (and for sellers the seller profile) in one transaction.
#[tracing::instrument(skip(db, reg), fields(email = %reg.email.as_str(), role = reg.role.as_str()))]
pub async fn create_account(db: &DatabaseConnection, reg: ValidRegistration) -> Result<CurrentUser, AppError> {
    let hash = hash_password(&reg.password).await?;
    let txn = db.begin().await?;
    let inserted = user::ActiveModel {
        id: NotSet,
        email: Set(reg.email.as_str().to_owned()),
        password_hash: Set(hash),
        role: Set(reg.role),
        session_epoch: Set(0),
        email_verified_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await;
    let u = match inserted {
        Ok(u) => u,
        Err(e) if crate::db::is_unique_violation(&e) => {
            return Err(AppError::Invalid(
                [("email".to_owned(), "This email is already registered. Sign in instead?".to_owned())].into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(name) = &reg.seller_name {
        let base = crate::catalog::slugify(name);
        let mut slug = base.clone();
        let mut n = 1;
        while seller::Entity::find().filter(seller::Column::Slug.eq(&slug)).one(&txn).await?.is_some() {
            n += 1;
            slug = format!("{base}-{n}");
        }
        seller::ActiveModel {
            id: NotSet,
            user_id: Set(Some(u.id)),
            name: Set(name.clone()),
            slug: Set(slug),
            created_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
    }
    super::verify::ask(&txn, u.id).await?;
    txn.commit().await?;
    load_user(db, u.id).await?.ok_or(AppError::Internal)
}

/// The same answer for an unknown email and a wrong password, so sign-in does not reveal who
/// has an account.
pub async fn authenticate(db: &DatabaseConnection, email: &str, password: &str) -> Result<CurrentUser, AppError> {
    let wrong = || AppError::Unauthorized("That email and password do not match an account.".to_owned());
    let Ok(email) = Email::parse(email) else { return Err(wrong()) };
    let found = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(db).await?;
    let Some(u) = found else {
        // Spend the time a real check would, so timing does not tell either.
        let _ = hash_password(password).await;
        return Err(wrong());
    };
    if !verify_password(password, &u.password_hash).await? {
        return Err(wrong());
    }
    load_user(db, u.id).await?.ok_or(AppError::Internal)
}

/// Changes the password and moves the account's session epoch on, which ends every session
/// opened before (the caller moves its own session along). Returns the new epoch.
pub async fn change_password(db: &DatabaseConnection, user_id: i64, current: &str, new: &str) -> Result<i64, AppError> {
    let mut errors = FieldErrors::default();
    errors.check("new_password", check_password(new));
    let u = user::Entity::find_by_id(user_id).one(db).await?.ok_or_else(AppError::unauthorized)?;
    if !verify_password(current, &u.password_hash).await? {
        errors.add("current_password", "That is not your current password.");
    }
    errors.finish()?;
    let hash = hash_password(new).await?;
    // Conditional on the epoch read: of two changes at once, one wins and the other is told.
    let moved = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::SessionEpoch, Expr::value(u.session_epoch + 1))
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::SessionEpoch.eq(u.session_epoch))
        .exec(db)
        .await?;
    if moved.rows_affected != 1 {
        return Err(AppError::Conflict("Your password was changed elsewhere a moment ago. Sign in again with the new one.".to_owned()));
    }
    Ok(u.session_epoch + 1)
}

/// Creates an admin, or makes an existing account an admin with the new password.
pub async fn create_admin(db: &DatabaseConnection, email: &str, password: &str) -> Result<CurrentUser, AppError> {
    let email = Email::parse(email).map_err(|e| AppError::bad("email", e.to_string()))?;
    check_password(password).map_err(|e| AppError::bad("password", e.to_string()))?;
    let hash = hash_password(password).await?;
    match user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(db).await? {
        Some(u) => {
            // A new password ends the account's sessions, as a change by its owner does.
            let epoch = u.session_epoch + 1;
            let mut active: user::ActiveModel = u.into();
            active.role = Set(Role::Admin);
            active.password_hash = Set(hash);
            active.session_epoch = Set(epoch);
            let u = active.update(db).await?;
            load_user(db, u.id).await?.ok_or(AppError::Internal)
        }
        None => {
            let u = user::ActiveModel {
                id: NotSet,
                email: Set(email.as_str().to_owned()),
                password_hash: Set(hash),
                role: Set(Role::Admin),
                session_epoch: Set(0),
                // Made by the operator on the command line, who typed the address.
                email_verified_at: Set(Some(Utc::now())),
                created_at: Set(Utc::now()),
            }
            .insert(db)
            .await?;
            load_user(db, u.id).await?.ok_or(AppError::Internal)
        }
    }
}

// ---- address book ----

pub fn to_address(a: address::Model) -> Address {
    Address {
        address_id: a.id,
        name: a.name,
        line1: a.line1,
        line2: a.line2,
        city: a.city,
        region: a.region,
        postal_code: a.postal_code,
        country: a.country,
        is_default: a.is_default,
    }
}

pub async fn list_addresses(db: &DatabaseConnection, user_id: i64) -> Result<Vec<Address>, AppError> {
    Ok(address::Entity::find()
        .filter(address::Column::UserId.eq(user_id))
        .order_by_desc(address::Column::IsDefault)
        .order_by_asc(address::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_address)
        .collect())
}

/// Adds (`address_id` None) or edits one of the user's addresses. The first address, or one
/// saved with `make_default`, becomes the default; there is never more than one.
pub async fn save_address(
    db: &DatabaseConnection,
    user_id: i64,
    address_id: Option<i64>,
    input: &AddressInput,
    make_default: bool,
) -> Result<Address, AppError> {
    let input = input.validate()?;
    let txn = db.begin().await?;
    let existing = address::Entity::find().filter(address::Column::UserId.eq(user_id)).all(&txn).await?;
    let make_default = make_default || existing.is_empty();
    let mut active = match address_id {
        Some(id) => {
            let found = existing.iter().find(|a| a.id == id).cloned();
            let a: address::ActiveModel = found.ok_or_else(|| AppError::not_found("There is no such address in your address book."))?.into();
            a
        }
        None => address::ActiveModel {
            id: NotSet,
            user_id: Set(user_id),
            created_at: Set(Utc::now()),
            is_default: Set(false),
            ..Default::default()
        },
    };
    if make_default {
        clear_default(&txn, user_id).await?;
        active.is_default = Set(true);
    }
    active.name = Set(input.name);
    active.line1 = Set(input.line1);
    active.line2 = Set(input.line2);
    active.city = Set(input.city);
    active.region = Set(input.region);
    active.postal_code = Set(input.postal_code);
    active.country = Set(input.country);
    let saved = active.save(&txn).await?;
    let id = saved.id.unwrap();
    txn.commit().await?;
    let a = address::Entity::find_by_id(id).one(db).await?.ok_or(AppError::Internal)?;
    Ok(to_address(a))
}

async fn clear_default(txn: &impl sea_orm::ConnectionTrait, user_id: i64) -> Result<(), DbErr> {
    address::Entity::update_many()
        .col_expr(address::Column::IsDefault, sea_orm::sea_query::Expr::value(false))
        .filter(address::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// One of the user's own addresses; anyone else's is "not found", not "forbidden".
async fn own_address(txn: &impl sea_orm::ConnectionTrait, user_id: i64, address_id: i64) -> Result<address::Model, AppError> {
    address::Entity::find_by_id(address_id)
        .filter(address::Column::UserId.eq(user_id))
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found("There is no such address in your address book."))
}

pub async fn set_default_address(db: &DatabaseConnection, user_id: i64, address_id: i64) -> Result<(), AppError> {
    let txn = db.begin().await?;
    let a = own_address(&txn, user_id, address_id).await?;
    clear_default(&txn, user_id).await?;
    let mut active: address::ActiveModel = a.into();
    active.is_default = Set(true);
    active.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Deleting the default makes the oldest remaining address the default.
pub async fn delete_address(db: &DatabaseConnection, user_id: i64, address_id: i64) -> Result<(), AppError> {
    let txn = db.begin().await?;
    let a = own_address(&txn, user_id, address_id).await?;
    let was_default = a.is_default;
    address::Entity::delete_by_id(a.id).exec(&txn).await?;
    if was_default {
        if let Some(next) = address::Entity::find()
            .filter(address::Column::UserId.eq(user_id))
            .order_by_asc(address::Column::Id)
            .one(&txn)
            .await?
        {
            let mut active: address::ActiveModel = next.into();
            active.is_default = Set(true);
            active.update(&txn).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}
