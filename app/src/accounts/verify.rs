//! Confirming an email address. Sign-up, and a shopper's "send it again", write an outbox row
//! `account.verify_email` in their own transaction; the outbox worker then makes a link
//! (256 random bits, only its SHA-256 kept, good for `LINK_HOURS`) and mails it. Opening the
//! link shows a page whose button confirms the address, so a mail scanner fetching the link
//! confirms nothing; the link works once. A sale may take only confirmed addresses
//! (`flash_sales.verified_email_only`).

use serde::{Deserialize, Serialize};

/// How long a mailed link works.
pub const LINK_HOURS: i64 = 24;

/// Where an account's email address stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EmailStatus {
    pub email: String,
    pub verified: bool,
}

/// What opening a link did: confirmed the address now, or found it confirmed by an earlier
/// use of the same link (a second click, a second tab).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Confirmed {
    Now,
    Already,
}

#[cfg(feature = "ssr")]
pub use service::*;

#[cfg(feature = "ssr")]
mod service {
    use chrono::{Duration, Utc};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set};

    use super::*;
    use crate::accounts::CurrentUser;
    use crate::db::{email_verification, user};
    use crate::error::AppError;
    use crate::secrets::{random_hex, sha256_hex};
    use crate::state::AppState;

    /// The outbox topic whose mail carries a fresh link.
    pub const TOPIC: &str = "account.verify_email";

    /// Asks the outbox for a link mail to `user_id` (inside the caller's transaction).
    pub async fn ask(db: &impl ConnectionTrait, user_id: i64) -> Result<(), DbErr> {
        crate::db::outbox::enqueue(db, TOPIC, serde_json::json!({ "user_id": user_id })).await
    }

    /// A link mail for the outbox row's account: (to, subject, body); none when the address is
    /// confirmed already (a second ask sent before the first link was opened) or the account
    /// is gone. Each call makes a new link; earlier ones keep working until they expire.
    pub async fn link_mail(db: &DatabaseConnection, payload: &serde_json::Value, public_url: &str) -> Result<Option<(String, String, String)>, AppError> {
        let Some(user_id) = payload["user_id"].as_i64() else { return Ok(None) };
        let Some(u) = user::Entity::find_by_id(user_id).one(db).await? else { return Ok(None) };
        if u.email_verified_at.is_some() {
            return Ok(None);
        }
        let secret = random_hex();
        let now = Utc::now();
        email_verification::ActiveModel {
            user_id: Set(u.id),
            token_hash: Set(sha256_hex(&secret)),
            created_at: Set(now),
            expires_at: Set(now + Duration::hours(LINK_HOURS)),
            used_at: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await?;
        Ok(Some((
            u.email,
            "Confirm your email address".to_owned(),
            format!(
                "Please confirm that this is your email address: open {public_url}/account/verify?token={secret} and press \"Confirm\".\n\nThe link works once, for {LINK_HOURS} hours. Some flash sales are only for shoppers who confirmed their address.\n\nIf you did not make an account at this shop, ignore this mail."
            ),
        )))
    }

    fn refused(message: &str) -> AppError {
        AppError::BadRequest { field: "token".to_owned(), message: message.to_owned() }
    }

    /// Confirms the address of the link's account. The link is spent in the same transaction
    /// that confirms, and only by the request whose conditional stamp took it.
    pub async fn confirm(state: &AppState, token: &str) -> Result<Confirmed, AppError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(refused("This link is incomplete. Open the whole link from the mail, or ask for a new one on your account page."));
        }
        let txn = state.writer.begin().await?;
        let Some(link) = email_verification::Entity::find().filter(email_verification::Column::TokenHash.eq(sha256_hex(token))).one(&txn).await? else {
            return Err(refused("This is not a link we sent, or it was cut short. Open the whole link from the mail, or ask for a new one on your account page."));
        };
        if link.used_at.is_some() {
            return Ok(Confirmed::Already);
        }
        let now = Utc::now();
        if link.expires_at <= now {
            return Err(refused(&format!("This link has expired: links work for {LINK_HOURS} hours. Sign in and ask for a new one on your account page.")));
        }
        let taken = email_verification::Entity::update_many()
            .col_expr(email_verification::Column::UsedAt, Expr::value(now))
            .filter(email_verification::Column::Id.eq(link.id))
            .filter(email_verification::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        if taken.rows_affected != 1 {
            return Ok(Confirmed::Already); // the same link opened twice at once: the other took it
        }
        user::Entity::update_many()
            .col_expr(user::Column::EmailVerifiedAt, Expr::value(now))
            .filter(user::Column::Id.eq(link.user_id))
            .filter(user::Column::EmailVerifiedAt.is_null())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        tracing::info!(user_id = link.user_id, "email address confirmed");
        Ok(Confirmed::Now)
    }

    pub async fn status(db: &DatabaseConnection, user: &CurrentUser) -> Result<EmailStatus, AppError> {
        let verified = user::Entity::find_by_id(user.user_id).one(db).await?.is_some_and(|u| u.email_verified_at.is_some());
        Ok(EmailStatus { email: user.email.clone(), verified })
    }

    /// Mails a new link to an account whose address is not confirmed yet, at most
    /// `SELLOUT_RATE_VERIFY_MAIL_PER_USER` times (429 past it; the mails cost the shop and
    /// land in someone's inbox).
    pub async fn send_again(state: &AppState, user: &CurrentUser) -> Result<(), AppError> {
        if status(&state.db, user).await?.verified {
            return Err(AppError::Conflict("Your email address is already confirmed.".to_owned()));
        }
        crate::ratelimit::enforce(state.stores.rate_limiter.as_ref(), &state.limits, &[(format!("verify_mail:user:{}", user.user_id), state.limits.verify_mail_per_user)])
            .await?;
        ask(&state.db, user.user_id).await?;
        Ok(())
    }
}
