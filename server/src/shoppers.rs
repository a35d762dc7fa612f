//! Shoppers in bulk for a load test (`sellout shoppers`): accounts `load-<run>-<i>@load.test`
//! that nobody can sign in to by password (their stored hash is no hash), each with a signed-in
//! session written straight to the session store the server uses. The cookies go to a file the
//! load tool reads, so 100,000 shoppers cost no 100,000 argon2 checks.

use std::io::Write;

use app::accounts::session::{AnySessionStore, open_signed_in};
use app::db::user;
use chrono::Utc;
use futures_util::{StreamExt, TryStreamExt, stream};
use sea_orm::{ActiveValue::NotSet, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

/// A stored "hash" that no password matches (`verify_password` refuses what is no PHC string).
const NO_PASSWORD: &str = "!load-test: no password";
const BATCH: usize = 1_000;

/// A batch name is part of an email address: letters, digits and `-` only.
pub fn check_run(run: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !run.is_empty() && run.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "--run must be letters, digits or - (got \"{run}\")"
    );
    Ok(())
}

/// Creates `count` shoppers named after `run` and a session for each; writes one line per
/// shopper, `<user id> <session cookie value>`, to `out`, flushed after each batch, so a run
/// stopped part-way has a record of the sessions it made (the load tool deletes them by it).
/// `progress` gets the shoppers done.
pub async fn create(
    db: &DatabaseConnection,
    sessions: &AnySessionStore,
    run: &str,
    count: u64,
    out: &mut impl Write,
    progress: impl Fn(u64),
) -> anyhow::Result<()> {
    check_run(run)?;
    let domain = format!("@{run}.load.test");
    let now = Utc::now();
    let mut done = 0u64;
    while done < count {
        let n = std::cmp::min(BATCH as u64, count - done);
        let rows = (done..done + n).map(|i| user::ActiveModel {
            id: NotSet,
            email: Set(format!("shopper-{i}{domain}")),
            password_hash: Set(NO_PASSWORD.to_owned()),
            role: Set(app::states::Role::Shopper),
            session_epoch: Set(0),
            // Stand-ins for real shoppers, who confirm their address before a sale that asks.
            email_verified_at: Set(Some(now)),
            created_at: Set(now),
        });
        user::Entity::insert_many(rows).exec(db).await?;
        let ids: Vec<i64> = user::Entity::find()
            .filter(user::Column::Email.ends_with(&domain))
            .filter(user::Column::Email.is_in((done..done + n).map(|i| format!("shopper-{i}{domain}"))))
            .order_by_asc(user::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect();
        let lasts = tower_sessions::cookie::time::Duration::days(1);
        let cookies: Vec<(i64, String)> = stream::iter(ids)
            .map(|id| async move { open_signed_in(sessions, id, lasts).await.map(|c| (id, c)) })
            .buffer_unordered(64)
            .try_collect()
            .await
            .map_err(|e| anyhow::anyhow!("creating sessions: {e}"))?;
        for (id, cookie) in cookies {
            writeln!(out, "{id} {cookie}")?;
        }
        out.flush()?;
        done += n;
        progress(done);
    }
    out.flush()?;
    Ok(())
}
