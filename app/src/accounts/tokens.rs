//! Personal access tokens for programs (DESIGN §6): a seller, an admin or a shopper names one,
//! picks its scopes, sees it once (`so_` + 64 hex digits) and sends it as
//! `Authorization: Bearer …`. Only its SHA-256 is kept; revoking refuses it at once. A request
//! with a token is not a browser riding on a cookie, so it needs no cross-site guard; it is
//! rate limited per token instead.

use serde::{Deserialize, Serialize};

use super::Role;

/// What a token may do beyond reading who it belongs to. Each REST route names the scope it
/// needs in `server::api::guard::scope_of`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Scope {
    /// The seller's own catalog, read (products, their stock, pictures).
    #[serde(rename = "catalog:read")]
    CatalogRead,
    /// The seller's catalog and stock, changed.
    #[serde(rename = "catalog:write")]
    CatalogWrite,
    /// Cart, checkout and orders (a shopper's own, or a seller's to fulfil).
    #[serde(rename = "orders")]
    Orders,
    /// Flash sales: queue and buy, or a seller's sales to schedule and run.
    #[serde(rename = "sales")]
    Sales,
    /// Admin routes (accounts, payment reconciliation).
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 5] = [Scope::CatalogRead, Scope::CatalogWrite, Scope::Orders, Scope::Sales, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::CatalogRead => "catalog:read",
            Scope::CatalogWrite => "catalog:write",
            Scope::Orders => "orders",
            Scope::Sales => "sales",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The checkbox's name in the account page's form.
    pub fn field(self) -> &'static str {
        match self {
            Scope::CatalogRead => "catalog_read",
            Scope::CatalogWrite => "catalog_write",
            Scope::Orders => "orders",
            Scope::Sales => "sales",
            Scope::Admin => "admin",
        }
    }

    /// How the account page's form names it.
    pub fn label(self) -> &'static str {
        match self {
            Scope::CatalogRead => "Read your catalog",
            Scope::CatalogWrite => "Change your catalog and stock",
            Scope::Orders => "Cart, checkout and orders",
            Scope::Sales => "Flash sales",
            Scope::Admin => "Admin (accounts, payments)",
        }
    }

    /// The scopes a role may give its tokens: a token never does more than its owner may.
    pub fn allowed_for(role: Role) -> &'static [Scope] {
        match role {
            Role::Shopper => &[Scope::Orders, Scope::Sales],
            Role::Seller => &[Scope::CatalogRead, Scope::CatalogWrite, Scope::Orders, Scope::Sales],
            Role::Admin => &Scope::ALL,
        }
    }

    /// Space-separated names, as stored.
    pub fn join(scopes: &[Scope]) -> String {
        scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    }

    /// The stored names read back (unknown names are dropped: they grant nothing).
    pub fn split(stored: &str) -> Vec<Scope> {
        stored.split_whitespace().filter_map(Scope::parse).collect()
    }
}

/// A token as lists show it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenView {
    pub token_id: i64,
    pub name: String,
    /// The token's first characters, to tell tokens apart ("so_1a2b3c4…").
    pub prefix: String,
    pub scopes: Vec<Scope>,
    /// RFC 3339.
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A token just made: `token` is shown this once and cannot be read again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewToken {
    pub token: String,
    #[serde(flatten)]
    pub view: TokenView,
}

/// `POST /api/v1/tokens`: a name to recognise it by and what it may do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenInput {
    /// 1 to 60 characters.
    pub name: String,
    /// At least one, of those the caller's role may give.
    pub scopes: Vec<Scope>,
}

pub const MAX_TOKEN_NAME: usize = 60;
/// Live (unrevoked) tokens one account may hold.
pub const MAX_LIVE_TOKENS: u64 = 20;
/// The prefix every token starts with: scanners of leaked secrets can look for it.
pub const TOKEN_PREFIX: &str = "so_";

impl TokenInput {
    /// The name trimmed and the scopes sorted, or the fields to correct in words.
    pub fn validate(&self, role: Role) -> Result<(String, Vec<Scope>), crate::error::AppError> {
        let mut fields = crate::error::FieldErrors::default();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            fields.add("name", "Give the token a name, e.g. \"stock sync\".");
        } else if name.chars().count() > MAX_TOKEN_NAME {
            fields.add("name", format!("The name can be at most {MAX_TOKEN_NAME} characters."));
        }
        crate::text::check_chars(&mut fields, "name", "The name", &name, false);
        let mut scopes = self.scopes.clone();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            fields.add("scopes", "Choose at least one thing the token may do.");
        } else if let Some(s) = scopes.iter().find(|s| !Scope::allowed_for(role).contains(s)) {
            fields.add("scopes", format!("A {} account cannot give a token the {} scope.", role.as_str(), s.as_str()));
        }
        fields.finish()?;
        Ok((name, scopes))
    }
}

#[cfg(feature = "ssr")]
pub use service::*;

#[cfg(feature = "ssr")]
mod service {
    use chrono::{Duration, Utc};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};

    use super::*;
    use crate::accounts::CurrentUser;
    use crate::db::api_token;
    use crate::error::AppError;
    use crate::state::AppState;

    /// Who a valid token belongs to and what it may do.
    #[derive(Clone, Debug)]
    pub struct TokenCaller {
        pub token_id: i64,
        pub user: CurrentUser,
        pub scopes: Vec<Scope>,
    }

    /// `last_used_at` is written at most this often per token (not a write per request).
    const LAST_USED_EVERY: Duration = Duration::seconds(60);

    fn view(m: api_token::Model) -> TokenView {
        TokenView {
            token_id: m.id,
            name: m.name,
            prefix: m.prefix,
            scopes: Scope::split(&m.scopes),
            created_at: m.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            last_used_at: m.last_used_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            revoked_at: m.revoked_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }

    /// Makes a token for `user`; the secret is in the answer and nowhere else.
    pub async fn create(state: &AppState, user: &CurrentUser, input: &TokenInput) -> Result<NewToken, AppError> {
        let (name, scopes) = input.validate(user.role)?;
        let live = api_token::Entity::find()
            .filter(api_token::Column::UserId.eq(user.user_id))
            .filter(api_token::Column::RevokedAt.is_null())
            .count(&state.db)
            .await?;
        if live >= MAX_LIVE_TOKENS {
            return Err(AppError::Conflict(format!("You have {live} tokens in use, the most an account may have. Revoke one you no longer need first.")));
        }
        let secret = format!("{TOKEN_PREFIX}{}", crate::secrets::random_hex());
        let row = api_token::ActiveModel {
            user_id: Set(user.user_id),
            name: Set(name),
            prefix: Set(secret[..TOKEN_PREFIX.len() + 7].to_owned()),
            token_hash: Set(crate::secrets::sha256_hex(&secret)),
            scopes: Set(Scope::join(&scopes)),
            created_at: Set(Utc::now()),
            last_used_at: Set(None),
            revoked_at: Set(None),
            ..Default::default()
        }
        .insert(&state.db)
        .await?;
        tracing::info!(user_id = user.user_id, token_id = row.id, scopes = %row.scopes, "API token created");
        Ok(NewToken { token: secret, view: view(row) })
    }

    /// The account's tokens, newest first, revoked ones included (marked).
    pub async fn list(state: &AppState, user_id: i64) -> Result<Vec<TokenView>, AppError> {
        let rows = api_token::Entity::find()
            .filter(api_token::Column::UserId.eq(user_id))
            .order_by_desc(api_token::Column::Id)
            .all(&state.db)
            .await?;
        Ok(rows.into_iter().map(view).collect())
    }

    /// Revokes one of the account's tokens: refused from the next request on. Revoking a
    /// revoked token changes nothing; another account's token is as unknown as a missing one.
    pub async fn revoke(state: &AppState, user_id: i64, token_id: i64) -> Result<TokenView, AppError> {
        let row = api_token::Entity::find_by_id(token_id)
            .filter(api_token::Column::UserId.eq(user_id))
            .one(&state.db)
            .await?
            .ok_or_else(|| AppError::not_found(format!("You have no token {token_id}.")))?;
        if row.revoked_at.is_some() {
            return Ok(view(row));
        }
        let mut active: api_token::ActiveModel = row.into();
        active.revoked_at = Set(Some(Utc::now()));
        let row = active.update(&state.db).await?;
        tracing::info!(user_id, token_id, "API token revoked");
        Ok(view(row))
    }

    /// The caller a bearer secret stands for: 401 for a token that is unknown, revoked or
    /// whose account is gone, in words that say which header to fix.
    pub async fn authenticate(state: &AppState, secret: &str) -> Result<TokenCaller, AppError> {
        let refused = || AppError::Unauthorized("This API token is not valid: it was revoked, or it is mistyped. Send a live token as Authorization: Bearer so_….".to_owned());
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() != TOKEN_PREFIX.len() + 64 {
            return Err(refused());
        }
        let row = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(crate::secrets::sha256_hex(secret)))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&state.db)
            .await?
            .ok_or_else(refused)?;
        let user = match state.recent.users.get(&row.user_id) {
            Some((u, _)) => u,
            None => {
                let known = crate::accounts::service::load_signed_in(&state.db, row.user_id).await?.ok_or_else(refused)?;
                state.recent.users.put(row.user_id, known.clone());
                known.0
            }
        };
        let now = Utc::now();
        if row.last_used_at.is_none_or(|t| now - t >= LAST_USED_EVERY) {
            // Best effort: a failed stamp must not fail the request it describes.
            let stamp = api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, sea_orm::sea_query::Expr::value(now))
                .filter(api_token::Column::Id.eq(row.id))
                .exec(&state.db)
                .await;
            if let Err(e) = stamp {
                tracing::warn!(error = %e, token_id = row.id, "stamping a token's last use");
            }
        }
        Ok(TokenCaller { token_id: row.id, user, scopes: Scope::split(&row.scopes) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_back_as_written_and_roles_give_only_their_own() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(Scope::split(&Scope::join(&[Scope::Orders, Scope::CatalogRead])), vec![Scope::Orders, Scope::CatalogRead]);
        assert_eq!(Scope::split("orders bogus"), vec![Scope::Orders], "an unknown name grants nothing");
        assert!(!Scope::allowed_for(Role::Shopper).contains(&Scope::CatalogWrite));
        assert!(!Scope::allowed_for(Role::Seller).contains(&Scope::Admin));
        assert_eq!(Scope::allowed_for(Role::Admin), &Scope::ALL);
    }

    #[test]
    fn token_input_names_what_to_fix() {
        let input = |name: &str, scopes: Vec<Scope>| TokenInput { name: name.into(), scopes };
        assert_eq!(input("  stock sync ", vec![Scope::CatalogWrite, Scope::CatalogRead, Scope::CatalogWrite]).validate(Role::Seller).unwrap(), ("stock sync".to_owned(), vec![Scope::CatalogRead, Scope::CatalogWrite]));
        let fields = |r: Result<(String, Vec<Scope>), crate::error::AppError>| match r {
            Err(crate::error::AppError::Invalid(f)) => f,
            other => panic!("{other:?}"),
        };
        let f = fields(input(" ", vec![]).validate(Role::Seller));
        assert!(f["name"].contains("name") && f["scopes"].contains("at least one"), "{f:?}");
        let f = fields(input(&"x".repeat(61), vec![Scope::Orders]).validate(Role::Shopper));
        assert!(f["name"].contains("60"), "{f:?}");
        let f = fields(input("sync", vec![Scope::CatalogWrite]).validate(Role::Shopper));
        assert_eq!(f["scopes"], "A shopper account cannot give a token the catalog:write scope.");
    }
}
