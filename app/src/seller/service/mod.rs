//! The seller's catalog rules, shared by the `/seller` pages and `/api/v1/seller/products`.
//! A seller sees and changes only their own products (another seller's product is "not
//! found", so ids do not leak); an admin sees and changes all. Every change is one database
//! transaction, then one `ProductChanged` plus a `StockChanged` per variant on the event bus,
//! which keeps the search index and every node's product-page cache current.

use crate::text::check_chars;
use crate::ids::{ProductId, ImageId};
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};

use super::*;
use crate::accounts::{CurrentUser, seller_scope};
use crate::catalog::LOW_STOCK_THRESHOLD;
use crate::catalog::service::{announce, images_of, media_url};
use crate::db::{category, flash_sale, inventory, product, product_image, seller, variant, warehouse};
use crate::db::rfc3339;
use crate::error::FieldErrors;
use crate::state::AppState;

pub const MAX_IMAGES: u64 = 12;
const FALLBACK_CATEGORY: (&str, &str) = ("other", "Other");
const DEFAULT_WAREHOUSE: (&str, &str) = ("MAIN", "Main warehouse");

async fn load_owned(db: &impl ConnectionTrait, user: &CurrentUser, id: i64) -> Result<product::Model, AppError> {
    let scope = seller_scope(user)?;
    match product::Entity::find_by_id(id).one(db).await? {
        Some(p) if scope.is_none_or(|s| s == p.seller_id) => Ok(p),
        _ => Err(AppError::not_found(format!("There is no product {id} in your shop."))),
    }
}

mod pictures;
mod read;
mod validate;
mod write;

pub use pictures::*;
pub use read::*;
pub use validate::*;
pub use write::*;
