//! Order mail through the outbox: a change writes an outbox row in its own transaction; this
//! worker claims each row once (a conditional stamp, so several nodes can run it), renders the
//! mail and hands it to the mailer. A failed send is put back for a later try, five at most.
//! The embedded default's mailer appends to `<data dir>/mail.log`.

use std::path::PathBuf;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::db::{order, outbox, user};
use crate::error::AppError;

pub const MAX_ATTEMPTS: i32 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Why a mail was not sent (logged; the outbox row is tried again later).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the mail log could not be written: {0}")]
    Log(#[from] std::io::Error),
    #[error("the recipient {to} is not a mail address: {reason}")]
    Recipient { to: String, reason: String },
    #[error("the mail could not be built: {0}")]
    Build(String),
    #[error("the mail server refused the mail or could not be reached: {0}")]
    Transport(String),
}

#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// Appends each mail to a file, for the embedded default (and for tests to read).
pub struct MailLog {
    path: PathBuf,
}

impl MailLog {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }
}

#[async_trait::async_trait]
impl Mailer for MailLog {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        use tokio::io::AsyncWriteExt;
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let text = format!("--- {}\nTo: {}\nSubject: {}\n\n{}\n\n", Utc::now().to_rfc3339(), mail.to, mail.subject, mail.body);
        let mut f = tokio::fs::OpenOptions::new().create(true).append(true).open(&self.path).await?;
        Ok(f.write_all(text.as_bytes()).await?)
    }
}

pub use crate::db::outbox::enqueue;

/// The mail for an outbox row; links point into the shop at `public_url`.
async fn render(db: &DatabaseConnection, row: &outbox::Model, public_url: &str) -> Result<Option<Mail>, AppError> {
    let payload: serde_json::Value = serde_json::from_str(&row.payload).unwrap_or_default();
    if row.topic == "sale.started" {
        return sale_started(db, &payload, public_url).await;
    }
    if row.topic == crate::accounts::verify::TOPIC {
        let mail = crate::accounts::verify::link_mail(db, &payload, public_url).await?;
        return Ok(mail.map(|(to, subject, body)| Mail { to, subject, body }));
    }
    let Some(order_id) = payload["order_id"].as_i64() else { return Ok(None) };
    let Some(o) = order::Entity::find_by_id(order_id).one(db).await? else { return Ok(None) };
    let Some(u) = user::Entity::find_by_id(o.user_id).one(db).await? else { return Ok(None) };
    let total = crate::money::Money::new(o.total, &o.currency).display();
    let (subject, body) = match row.topic.as_str() {
        "order.paid" => (
            format!("Your order #{order_id} is confirmed"),
            format!("Thank you for your order #{order_id} of {total}. We will write again when it ships.\n\nSee it at {public_url}/orders/{order_id}"),
        ),
        "order.shipped" => (
            format!("Your order #{order_id} is on its way"),
            format!(
                "{} has shipped. Tracking number: {}.\n\nSee it at {public_url}/orders/{order_id}",
                // Each seller of an order with several sellers' items ships their part of it.
                if payload["part"].as_bool() == Some(true) { format!("Part of order #{order_id}") } else { format!("Order #{order_id}") },
                payload["tracking_number"].as_str().map(str::to_owned).or_else(|| o.tracking_number.clone()).unwrap_or_default()
            ),
        ),
        "order.items_cancelled" => (
            format!("Some items of your order #{order_id} are cancelled"),
            format!(
                "We are sorry: the {} cancelled some items of order #{order_id}. Their reason: {}\n\nThey are refunded to your card (a separate mail says how much); the rest of your order is on its way.\n\nSee it at {public_url}/orders/{order_id}",
                payload["by"].as_str().unwrap_or("seller"),
                payload["reason"].as_str().unwrap_or_default()
            ),
        ),
        "order.cancelled" => (
            format!("Your order #{order_id} is cancelled"),
            match o.cancel_reason.as_deref() {
                Some(why) => format!(
                    "We are sorry: the seller cancelled order #{order_id}. Their reason: {why}\n\nThe hold on your card for {total} is released; nothing was charged.\n\nSee it at {public_url}/orders/{order_id}"
                ),
                None => format!("Order #{order_id} is cancelled. Any hold on your card for {total} is released; nothing was charged."),
            },
        ),
        "order.refunded" => {
            let Some(r) = crate::db::refund::Entity::find_by_id(payload["refund_id"].as_i64().unwrap_or_default()).one(db).await? else { return Ok(None) };
            let amount = crate::money::Money::new(r.amount, &r.currency).display();
            (
                format!("A refund of {amount} for your order #{order_id}"),
                format!(
                    "We refunded {amount} of your order #{order_id} to the card you paid with. Banks take a few days to show it.\n\nSee it at {public_url}/orders/{order_id}"
                ),
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(Mail { to: u.email, subject, body }))
}

/// The reminder a registered shopper gets when a sale starts.
async fn sale_started(db: &DatabaseConnection, payload: &serde_json::Value, public_url: &str) -> Result<Option<Mail>, AppError> {
    let (Some(sale_id), Some(user_id)) = (payload["sale_id"].as_i64(), payload["user_id"].as_i64()) else { return Ok(None) };
    let Some(sale) = crate::db::flash_sale::Entity::find_by_id(sale_id).one(db).await? else { return Ok(None) };
    let Some(u) = user::Entity::find_by_id(user_id).one(db).await? else { return Ok(None) };
    let title = crate::db::product::Entity::find_by_id(sale.product_id).one(db).await?.map(|p| p.title).unwrap_or_default();
    let price = crate::money::Money::new(sale.price_amount, &sale.currency).display();
    Ok(Some(Mail {
        to: u.email,
        subject: format!("The flash sale of {title} is live"),
        body: format!("{title} is on sale now at {price}, {} units. Join the queue at {public_url}/sales/{sale_id}\n\nYou get this because you asked to be reminded; unregister on the sale's page.", sale.allocated),
    }))
}

/// Sends what is waiting; returns how many mails went out. `public_url`: the shop's address
/// for links in the mail (`SELLOUT_PUBLIC_URL`).
pub async fn deliver_outbox(db: &DatabaseConnection, mailer: &dyn Mailer, public_url: &str) -> Result<usize, AppError> {
    let waiting = outbox::Entity::find()
        .filter(outbox::Column::ProcessedAt.is_null())
        .filter(outbox::Column::Attempts.lt(MAX_ATTEMPTS))
        .order_by_asc(outbox::Column::Id)
        .limit(100)
        .all(db)
        .await?;
    let mut sent = 0;
    for row in waiting {
        let claimed = outbox::Entity::update_many()
            .col_expr(outbox::Column::ProcessedAt, Expr::value(Utc::now()))
            .col_expr(outbox::Column::Attempts, Expr::col(outbox::Column::Attempts).add(1))
            .filter(outbox::Column::Id.eq(row.id))
            .filter(outbox::Column::ProcessedAt.is_null())
            .exec(db)
            .await?;
        if claimed.rows_affected != 1 {
            continue; // another node has it
        }
        let result = match render(db, &row, public_url).await? {
            Some(mail) => mailer.send(&mail).await.map(|_| true),
            None => Ok(false),
        };
        match result {
            Ok(true) => sent += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, outbox_id = row.id, "sending mail; will retry");
                outbox::Entity::update_many()
                    .col_expr(outbox::Column::ProcessedAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
                    .filter(outbox::Column::Id.eq(row.id))
                    .exec(db)
                    .await?;
            }
        }
    }
    Ok(sent)
}

/// Delivers the outbox every `every` until the node shuts down.
pub fn spawn_outbox_worker(workers: &crate::workers::Workers, db: DatabaseConnection, mailer: std::sync::Arc<dyn Mailer>, public_url: String, every: std::time::Duration) {
    workers.every("outbox", every, move || {
        let (db, mailer, public_url) = (db.clone(), mailer.clone(), public_url.clone());
        async move {
            if let Err(e) = deliver_outbox(&db, mailer.as_ref(), &public_url).await {
                tracing::warn!(error = %e, "delivering the outbox");
            }
        }
    });
}
