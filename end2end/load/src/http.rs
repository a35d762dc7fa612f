//! A bare HTTP/1.1 keep-alive client on hyper's connection API: one TCP connection per virtual
//! client, bound to a chosen loopback source address (127.0.0.2, …) so 20,000 sockets do not
//! run out of ephemeral ports and per-IP limits see many clients. No pool, no redirects, no
//! cookie jar: each request says whose session it carries. That keeps the tool's own cost per
//! request to a few microseconds, which matters when it shares two cores with the shop.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, COOKIE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;

/// The session cookie's name (the shop's `SessionManagerLayer`).
pub const SESSION_COOKIE: &str = "sellout_session";

/// Source address number `i` of the loopback range 127.0.0.2 … 127.0.0.254.
pub fn source_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i % 253) as u8))
}

/// A TCP stream from `local` (port chosen by the kernel) to `target`, without Nagle's delay.
pub async fn connect_tcp(local: IpAddr, target: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(local, 0))?;
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// What one request saw.
pub struct Reply {
    /// 0 when the request failed below HTTP (connection refused or reset, timeout).
    pub status: u16,
    pub body: Bytes,
    pub took: Duration,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One keep-alive connection; reconnects by itself when the server closed it.
pub struct Client {
    target: SocketAddr,
    local: IpAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
    timeout: Duration,
}

impl Client {
    pub fn new(target: SocketAddr, local: IpAddr) -> Self {
        let host = HeaderValue::from_str(&target.to_string()).expect("a socket address is a valid Host header");
        Client { target, local, host, sender: None, timeout: Duration::from_secs(30) }
    }

    async fn sender(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = connect_tcp(self.local, self.target).await?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().expect("just set");
        sender.ready().await?;
        Ok(sender)
    }

    /// Connects now (before a measurement starts), so the clock does not count the handshake.
    pub async fn open(&mut self) -> bool {
        self.sender().await.is_ok()
    }

    /// Sends one request; `session` is the shopper's cookie value, `body` JSON.
    pub async fn send(&mut self, method: Method, path: &str, session: Option<&str>, body: Option<&serde_json::Value>, headers: &[(&str, &str)]) -> Reply {
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, self.try_send(method, path, session, body, headers)).await;
        match outcome {
            Ok(Ok((status, body))) => Reply { status: status.as_u16(), body, took: started.elapsed() },
            Ok(Err(_)) | Err(_) => {
                self.sender = None;
                Reply { status: 0, body: Bytes::new(), took: started.elapsed() }
            }
        }
    }

    async fn try_send(&mut self, method: Method, path: &str, session: Option<&str>, body: Option<&serde_json::Value>, headers: &[(&str, &str)]) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut req = Request::builder().method(method).uri(path).header(HOST, self.host.clone());
        if let Some(s) = session {
            req = req.header(COOKIE, format!("{SESSION_COOKIE}={s}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match body {
            Some(b) => {
                req = req.header(CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(serde_json::to_vec(b)?))
            }
            None => Full::new(Bytes::new()),
        };
        let res = self.sender().await?.send_request(req.body(body)?).await?;
        let status = res.status();
        let keep = res.headers().get(hyper::header::CONNECTION).is_none_or(|v| v != "close");
        let bytes = res.into_body().collect().await?.to_bytes();
        if !keep {
            self.sender = None;
        }
        Ok((status, bytes))
    }

    pub async fn get(&mut self, path: &str, session: Option<&str>) -> Reply {
        self.send(Method::GET, path, session, None, &[]).await
    }

    pub async fn post(&mut self, path: &str, session: Option<&str>, body: &serde_json::Value) -> Reply {
        self.send(Method::POST, path, session, Some(body), &[]).await
    }
}

/// Signs in with a password through the REST API and returns the session cookie's value: used
/// once per run, for the seller (the shoppers come signed in from `sellout shoppers`).
pub async fn sign_in(target: SocketAddr, email: &str, password: &str) -> anyhow::Result<String> {
    let stream = connect_tcp(IpAddr::V4(Ipv4Addr::LOCALHOST), target).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let body = serde_json::json!({"email": email, "password": password});
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/auth/login")
        .header(HOST, target.to_string())
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(&body)?)))?;
    let res = sender.send_request(req).await?;
    let status = res.status();
    let cookie = res
        .headers()
        .get_all(hyper::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{SESSION_COOKIE}=")).map(|rest| rest.split(';').next().unwrap_or_default().to_owned()));
    anyhow::ensure!(status.is_success(), "signing in {email} answered {status}");
    cookie.ok_or_else(|| anyhow::anyhow!("signing in {email} set no session cookie"))
}
