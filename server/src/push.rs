//! `GET /ws?sale=ID`: every change of a sale pushed to the open page (DESIGN §5): its start and
//! end, the units left, the line moving. Events reach this node from every node through the
//! event bus (Redis pub/sub → local broadcast; embedded: in-process), so no page polls. A page
//! that loses its socket reconnects with backoff and resynchronises from
//! `GET /api/v1/sales/{id}`; so does one told `resync` (it fell behind the broadcast).

use app::events::ShopEvent;
use app::state::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use tokio::sync::broadcast::error::RecvError;

#[derive(Deserialize)]
pub struct Watch {
    /// The sale to follow; without it, every sale's changes.
    sale: Option<i64>,
}

pub async fn ws(State(state): State<AppState>, Query(watch): Query<Watch>, upgrade: WebSocketUpgrade) -> Response {
    // Subscribe before the upgrade answers, so nothing published after the page's
    // handshake is missed.
    let events = state.stores.events.subscribe();
    upgrade.on_upgrade(move |socket| serve(socket, events, watch.sale))
}

/// The sale an event is about, if it is a sale's.
fn sale_of(event: &ShopEvent) -> Option<i64> {
    match event {
        ShopEvent::SaleStarted { sale_id }
        | ShopEvent::SaleEnded { sale_id }
        | ShopEvent::SaleStock { sale_id, .. }
        | ShopEvent::QueueMoved { sale_id, .. } => Some(*sale_id),
        ShopEvent::ProductChanged { .. } | ShopEvent::StockChanged { .. } => None,
    }
}

async fn serve(mut socket: WebSocket, mut events: tokio::sync::broadcast::Receiver<ShopEvent>, sale: Option<i64>) {
    let hello = serde_json::json!({ "type": "hello", "server_time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true) });
    if socket.send(Message::Text(hello.to_string().into())).await.is_ok() {
        loop {
            tokio::select! {
                event = events.recv() => {
                    let text = match event {
                        Ok(e) if sale_of(&e).is_some_and(|id| sale.is_none_or(|want| want == id)) => {
                            serde_json::to_string(&e).unwrap_or_default()
                        }
                        Ok(_) => continue,
                        // Fell behind: the page reloads the sale's figures instead.
                        Err(RecvError::Lagged(_)) => r#"{"type":"resync"}"#.to_owned(),
                        Err(RecvError::Closed) => break,
                    };
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {} // pings are answered by axum; nothing else is expected
                },
            }
        }
    }
}
