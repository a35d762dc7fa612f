//! The client's address on each request (`app::ratelimit::client`), worked out once at the
//! edge from the socket's peer and, behind a trusted proxy, its forwarding headers; every
//! rate limit reads it (`ClientAddr`) and the request's log line carries it (`client`).

use std::net::SocketAddr;
use std::sync::Arc;

use app::ratelimit::{ClientAddr, TrustedProxies};
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

pub async fn resolve(State(trusted): State<Arc<TrustedProxies>>, mut req: Request, next: Next) -> Response {
    if let Some(peer) = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) {
        let client = ClientAddr(trusted.client_of(peer, req.headers()));
        tracing::Span::current().record("client", tracing::field::display(client));
        req.extensions_mut().insert(client);
    }
    next.run(req).await
}

/// The request's log span; `resolve` fills in `client`.
pub fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    tracing::info_span!("request", method = %req.method(), uri = %req.uri(), version = ?req.version(), client = tracing::field::Empty)
}
