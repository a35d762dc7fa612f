//! Orders on the server, by step: `history` (the shopper's orders), `cancel` (within the window,
//! stock back exactly once) and `fulfil` (the seller ships, delivers and refunds). They build on
//! checkout's conditional moves of reservations and payments, never the other way round.

use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::*;
use crate::accounts::CurrentUser;
use crate::checkout::service::{
    announce_stock, move_reservation, own_order, result_of, set_payment, void_waiting,
};
use crate::db::{inventory, order, order_item, payment, reservation};
use crate::db::rfc3339;
use crate::error::AppError;
use crate::money::Money;
use crate::state::AppState;
use crate::states::{OrderStatus, PaymentState, ReservationState};

mod cancel;
mod fulfil;
mod history;
mod refund;
mod views;

pub use cancel::*;
pub use fulfil::*;
pub use history::*;
pub use refund::*;
pub use views::*;
