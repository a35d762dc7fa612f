//! Embedded cart store: a SQL table, so carts survive a restart of the zero-setup default.

use chrono::{TimeDelta, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

use super::port::{CartStore, CartTtl};
use super::*;
use crate::db::cart_line;
use crate::store::StoreError;

#[derive(Clone)]
pub struct SqlCartStore {
    db: DatabaseConnection,
    ttl: CartTtl,
}

impl SqlCartStore {
    pub fn new(db: DatabaseConnection, ttl: CartTtl) -> Self {
        Self { db, ttl }
    }

    fn expiry(&self, owner: &CartOwner) -> chrono::DateTime<Utc> {
        Utc::now() + TimeDelta::from_std(self.ttl.for_owner(owner)).unwrap_or(TimeDelta::days(30))
    }
}

#[async_trait::async_trait]
impl CartStore for SqlCartStore {
    async fn lines(&self, owner: &CartOwner) -> Result<Vec<CartLine>, StoreError> {
        let key = owner.key();
        cart_line::Entity::delete_many()
            .filter(cart_line::Column::Owner.eq(&key))
            .filter(cart_line::Column::ExpiresAt.lte(Utc::now()))
            .exec(&self.db)
            .await?;
        let rows = cart_line::Entity::find()
            .filter(cart_line::Column::Owner.eq(&key))
            .order_by_asc(cart_line::Column::Sku)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| CartLine { sku: r.sku, quantity: r.quantity, added_price: Money::new(r.unit_price, &r.currency) })
            .collect())
    }

    async fn set_quantity(
        &self,
        owner: &CartOwner,
        sku: &str,
        quantity: i64,
        price_now: &Money,
    ) -> Result<(), StoreError> {
        if quantity <= 0 {
            return self.remove(owner, sku).await;
        }
        let key = owner.key();
        let expires_at = self.expiry(owner);
        // An expired line must not lend its old price to a fresh add.
        cart_line::Entity::delete_many()
            .filter(cart_line::Column::Owner.eq(&key))
            .filter(cart_line::Column::ExpiresAt.lte(Utc::now()))
            .exec(&self.db)
            .await?;
        let row = cart_line::ActiveModel {
            owner: Set(key.clone()),
            sku: Set(sku.to_owned()),
            quantity: Set(quantity),
            unit_price: Set(price_now.amount),
            currency: Set(price_now.currency.clone()),
            added_at: Set(Utc::now()),
            expires_at: Set(expires_at),
        };
        cart_line::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([cart_line::Column::Owner, cart_line::Column::Sku])
                    .update_columns([cart_line::Column::Quantity, cart_line::Column::ExpiresAt])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        cart_line::Entity::update_many()
            .col_expr(cart_line::Column::ExpiresAt, sea_orm::sea_query::Expr::value(expires_at))
            .filter(cart_line::Column::Owner.eq(&key))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn remove(&self, owner: &CartOwner, sku: &str) -> Result<(), StoreError> {
        cart_line::Entity::delete_many()
            .filter(cart_line::Column::Owner.eq(owner.key()))
            .filter(cart_line::Column::Sku.eq(sku))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn clear(&self, owner: &CartOwner) -> Result<(), StoreError> {
        cart_line::Entity::delete_many().filter(cart_line::Column::Owner.eq(owner.key())).exec(&self.db).await?;
        Ok(())
    }
}
