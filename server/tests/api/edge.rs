//! What every response carries on its way out: compression, the cache rule (public only for a
//! page shared by every anonymous visitor, never once a session exists), security headers, and
//! the storefront's files precompressed under names that change with their content. (Pictures
//! are not compressed again: `seller::pictures_are_checked_stored_and_served`.)

use std::io::Read;

use reqwest::header::{ACCEPT_ENCODING, HeaderMap};

use crate::helpers::{Backend, TestApp, scratch_dir, spawn_app, spawn_app_with, test_config, fresh_database_url};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn unbrotli(bytes: &[u8]) -> anyhow::Result<String> {
    let mut out = String::new();
    brotli::Decompressor::new(bytes, 4096).read_to_string(&mut out)?;
    Ok(out)
}

fn ungzip(bytes: &[u8]) -> anyhow::Result<String> {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut out)?;
    Ok(out)
}

async fn first_product(app: &TestApp) -> anyhow::Result<(i64, String)> {
    let (_, list) = app.get_json("/api/v1/products?limit=1").await?;
    let p = &list["products"][0];
    Ok((p["product_id"].as_i64().unwrap(), p["title"].as_str().unwrap().to_owned()))
}

/// The security headers every page carries.
fn assert_secured(headers: &HeaderMap, what: &str) {
    assert_eq!(header(headers, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(headers, "referrer-policy"), "strict-origin-when-cross-origin", "{what}");
    assert_eq!(header(headers, "x-frame-options"), "DENY", "{what}");
    assert_eq!(header(headers, "cross-origin-opener-policy"), "same-origin", "{what}");
    let permissions = header(headers, "permissions-policy");
    for off in ["camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"] {
        assert!(permissions.contains(off), "{what}: {off} in {permissions:?}");
    }
    let csp = header(headers, "content-security-policy");
    for rule in ["script-src 'nonce-", "'strict-dynamic'", "object-src 'none'", "base-uri 'self'", "frame-ancestors 'none'", "form-action 'self'", "connect-src 'self'"] {
        assert!(csp.contains(rule), "{what}: {rule} in {csp:?}");
    }
}

/// What a JSON reply or a file carries: `nosniff` and the shop's referrer rule; no page policy.
fn assert_plain(headers: &HeaderMap, what: &str) {
    assert_eq!(header(headers, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(headers, "referrer-policy"), "strict-origin-when-cross-origin", "{what}");
    for page_only in ["content-security-policy", "permissions-policy", "cross-origin-opener-policy"] {
        assert!(headers.get(page_only).is_none(), "{what}: no {page_only}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_page_is_compressed_public_for_a_cdn_and_secured() -> anyhow::Result<()> {
    let app = spawn_app(Backend::Sqlite).await?;
    let (id, title) = first_product(&app).await?;
    let path = format!("/p/{id}");
    let anonymous = reqwest::Client::new();

    let plain = anonymous.get(app.url(&path)).send().await?;
    assert_eq!(plain.status(), 200);
    let headers = plain.headers().clone();
    assert_eq!(header(&headers, "content-encoding"), "", "not asked for, not compressed");
    assert_eq!(header(&headers, "cache-control"), "public, max-age=0, s-maxage=30");
    let vary = header(&headers, "vary").to_ascii_lowercase();
    assert!(vary.contains("cookie") && vary.contains("authorization") && vary.contains("accept-encoding"), "{vary}");
    assert_secured(&headers, "an anonymous product page");
    assert!(headers.get("strict-transport-security").is_none(), "no HSTS over plain HTTP");
    let html = plain.text().await?;
    assert!(html.contains(&title));

    // Kept and compressed once: brotli and gzip are the same page.
    for (accept, decode) in [("br", unbrotli as fn(&[u8]) -> anyhow::Result<String>), ("gzip, deflate", ungzip)] {
        let res = anonymous.get(app.url(&path)).header(ACCEPT_ENCODING, accept).send().await?;
        assert_eq!(header(res.headers(), "x-sellout-page-cache"), "hit");
        let encoding = header(res.headers(), "content-encoding").to_owned();
        assert_eq!(encoding, accept.split(',').next().unwrap(), "asked for {accept}");
        let bytes = res.bytes().await?;
        assert!(bytes.len() * 3 < html.len(), "{encoding}: {} bytes of {}", bytes.len(), html.len());
        assert_eq!(decode(&bytes)?, html, "{encoding} decodes to the page");
    }
    // `q=0` refuses an encoding.
    let res = anonymous.get(app.url(&path)).header(ACCEPT_ENCODING, "br;q=0, gzip").send().await?;
    assert_eq!(header(res.headers(), "content-encoding"), "gzip");

    // The sales' pages may be kept by a CDN only a second: their units left move.
    let res = anonymous.get(app.url("/sales")).send().await?;
    assert_eq!(res.status(), 200);
    assert_eq!(header(res.headers(), "cache-control"), "public, max-age=0, s-maxage=1");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_public_once_a_session_exists() -> anyhow::Result<()> {
    let app = spawn_app(Backend::Sqlite).await?;
    let (id, _) = first_product(&app).await?;
    let shopper = app.visitor();
    shopper.register("cache@example.com", "a long enough password").await?;
    for path in [format!("/p/{id}"), "/account".to_owned(), "/cart".to_owned(), "/".to_owned()] {
        let res = shopper.client.get(app.url(&path)).header(ACCEPT_ENCODING, "br").send().await?;
        assert_eq!(res.status(), 200, "{path}");
        let headers = res.headers().clone();
        assert_eq!(header(&headers, "cache-control"), "private, no-store", "{path}");
        // Their own page, or the kept one with their own parts put in: never a shared one.
        let kept = headers.get("x-sellout-page-cache").and_then(|v| v.to_str().ok());
        assert!(kept.is_none() || kept == Some("own-parts"), "{path}: not a shared page ({kept:?})");
        assert_secured(&headers, &path);
        // Compressed on the fly, since it is rendered for this shopper alone.
        assert_eq!(header(&headers, "content-encoding"), "br", "{path}");
        assert!(unbrotli(&res.bytes().await?)?.contains("</html>"), "{path}");
    }
    // The REST API with the session's cookie: JSON, compressed, private.
    let res = shopper.client.get(app.url("/api/v1/cart")).header(ACCEPT_ENCODING, "gzip").send().await?;
    assert_eq!(res.status(), 200);
    assert_eq!(header(res.headers(), "cache-control"), "private, no-store");
    assert_plain(res.headers(), "a JSON reply");
    let encoding = header(res.headers(), "content-encoding").to_owned();
    let body = res.bytes().await?;
    let json: serde_json::Value = serde_json::from_str(&if encoding == "gzip" { ungzip(&body)? } else { String::from_utf8(body.to_vec())? })?;
    assert!(json.get("items").is_some(), "{json}");

    // A page that is not the same for everyone is private even without a cookie.
    let res = reqwest::Client::new().get(app.url("/signin")).send().await?;
    assert_eq!(header(res.headers(), "cache-control"), "private, no-store", "the sign-in page");
    Ok(())
}

/// A site root with a built storefront in miniature: hashed names, the list, precompressed copies.
fn fake_site() -> anyhow::Result<(std::path::PathBuf, String)> {
    let root = scratch_dir();
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg)?;
    let js = "sellout.0123456789abcdef0123.js";
    let source = "export default function init() {}\n".repeat(50);
    std::fs::write(pkg.join(js), &source)?;
    let mut br = Vec::new();
    brotli::BrotliCompress(&mut source.as_bytes(), &mut br, &Default::default())?;
    std::fs::write(pkg.join(format!("{js}.br")), &br)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, source.as_bytes())?;
    std::fs::write(pkg.join(format!("{js}.gz")), gz.finish()?)?;
    std::fs::write(pkg.join("sellout_bg.abcdefabcdefabcdefab.wasm"), b"\0asm\x01\0\0\0")?;
    std::fs::write(pkg.join("sellout.fedcba9876543210fedc.css"), "body { margin: 0 }\n")?;
    std::fs::write(pkg.join("plain.js"), "// not named by its content\n")?;
    std::fs::write(
        pkg.join("assets.json"),
        format!(r#"{{"js":"{js}","wasm":"sellout_bg.abcdefabcdefabcdefab.wasm","css":"sellout.fedcba9876543210fedc.css"}}"#),
    )?;
    Ok((root, source))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storefront_files_are_precompressed_and_kept_a_year_by_name() -> anyhow::Result<()> {
    let (root, source) = fake_site()?;
    let mut cfg = test_config(fresh_database_url(Backend::Sqlite).await?);
    cfg.site_root = root.clone();
    let app = spawn_app_with(cfg).await?;
    let client = reqwest::Client::new();

    // Pages load the files by the names in the list.
    let html = client.get(app.url("/")).send().await?.text().await?;
    for name in ["/pkg/sellout.0123456789abcdef0123.js", "/pkg/sellout_bg.abcdefabcdefabcdefab.wasm", "/pkg/sellout.fedcba9876543210fedc.css"] {
        assert!(html.contains(name), "the page loads {name}");
    }

    let js = app.url("/pkg/sellout.0123456789abcdef0123.js");
    let res = client.get(&js).header(ACCEPT_ENCODING, "gzip, deflate, br").send().await?;
    assert_eq!(res.status(), 200);
    assert_eq!(header(res.headers(), "cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(header(res.headers(), "content-encoding"), "br", "the .br beside it");
    assert_plain(res.headers(), "a storefront file");
    assert!(header(res.headers(), "vary").to_ascii_lowercase().contains("accept-encoding"));
    assert_eq!(unbrotli(&res.bytes().await?)?, source);

    let res = client.get(&js).header(ACCEPT_ENCODING, "gzip").send().await?;
    assert_eq!(header(res.headers(), "content-encoding"), "gzip");
    assert_eq!(ungzip(&res.bytes().await?)?, source);

    let res = client.get(&js).send().await?;
    assert_eq!(header(res.headers(), "content-encoding"), "");
    assert_eq!(res.text().await?, source);

    // The wasm has no compressed copy here: sent as it is, never compressed on the fly.
    let res = client.get(app.url("/pkg/sellout_bg.abcdefabcdefabcdefab.wasm")).header(ACCEPT_ENCODING, "br").send().await?;
    assert_eq!(res.status(), 200);
    assert_eq!(header(res.headers(), "content-encoding"), "");
    assert_eq!(header(res.headers(), "cache-control"), "public, max-age=31536000, immutable");

    // A file under a plain name may change under it: asked about each time, and a 304 when
    // it has not.
    let res = client.get(app.url("/pkg/plain.js")).send().await?;
    assert_eq!(header(res.headers(), "cache-control"), "public, no-cache");
    let modified = header(res.headers(), "last-modified").to_owned();
    assert!(!modified.is_empty(), "a plain file says when it changed");
    let res = client.get(app.url("/pkg/plain.js")).header("if-modified-since", &modified).send().await?;
    assert_eq!(res.status(), 304, "revalidated, not sent again");
    assert_eq!(header(res.headers(), "cache-control"), "public, no-cache");
    assert!(res.bytes().await?.is_empty());
    let res = client.get(app.url("/pkg/missing.0123456789abcdef0123.js")).send().await?;
    assert_eq!(res.status(), 404);
    assert!(!header(res.headers(), "cache-control").contains("immutable"), "a 404 is not kept");
    let _ = std::fs::remove_dir_all(root);
    Ok(())
}

/// The nonce a page's policy allows, and every nonce on the page's scripts.
fn nonces(headers: &HeaderMap, html: &str) -> (String, Vec<String>) {
    let csp = header(headers, "content-security-policy");
    let allowed = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap_or_else(|| panic!("no nonce in {csp:?}"));
    // A data block (`application/ld+json`) is never run, so the policy does not ask it for one.
    let on_scripts = html
        .split("<script")
        .skip(1)
        .filter(|tag| !tag.split('>').next().unwrap_or("").contains("type=\"application/ld+json\""))
        .map(|tag| tag.split("nonce=\"").nth(1).and_then(|v| v.split('"').next()).unwrap_or("").to_owned())
        .collect();
    (allowed.to_owned(), on_scripts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_inline_script_carries_the_nonce_its_page_allows() -> anyhow::Result<()> {
    let app = spawn_app(Backend::Sqlite).await?;
    let (id, _) = first_product(&app).await?;
    let shopper = app.visitor();
    shopper.register("nonce@example.com", "a long enough password").await?;
    let mut seen = Vec::new();
    for path in [format!("/p/{id}"), format!("/p/{id}"), "/account".to_owned(), "/no/such/page".to_owned()] {
        let res = shopper.client.get(app.url(&path)).send().await?;
        let headers = res.headers().clone();
        let html = res.text().await?;
        let (allowed, on_scripts) = nonces(&headers, &html);
        assert!(!on_scripts.is_empty(), "{path}: the hydration script");
        assert!(on_scripts.iter().all(|n| *n == allowed), "{path}: {on_scripts:?} against {allowed}");
        let csp = header(&headers, "content-security-policy");
        assert!(csp.contains("script-src 'nonce-") && csp.contains("'wasm-unsafe-eval'") && csp.contains("frame-src 'none'"), "{path}: {csp}");
        seen.push(allowed);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "a new nonce for every page rendered for a shopper");

    // A page kept for anonymous visitors keeps its nonce with its policy: they always agree.
    let anonymous = reqwest::Client::new();
    for _ in 0..2 {
        let res = anonymous.get(app.url(&format!("/p/{id}"))).send().await?;
        let headers = res.headers().clone();
        let (allowed, on_scripts) = nonces(&headers, &res.text().await?);
        assert!(on_scripts.iter().all(|n| *n == allowed), "{on_scripts:?} against {allowed}");
    }
    Ok(())
}

/// An operator's analytics script: on every page with the page's nonce (the module preload too),
/// its origin allowed, and where it sends (`SELLOUT_CSP_CONNECT`) too; cards with Stripe.js
/// allow payment requests only to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_scripts_an_operator_adds_carry_the_nonce_and_their_origins_are_allowed() -> anyhow::Result<()> {
    let mut cfg = test_config(fresh_database_url(Backend::Sqlite).await?);
    cfg.page_scripts = vec!["https://stats.example.org/script.js".to_owned()];
    cfg.csp_connect = vec!["https://collect.example.net".to_owned()];
    let app = spawn_app_with(cfg).await?;
    let (id, _) = first_product(&app).await?;
    for path in ["/".to_owned(), format!("/p/{id}"), "/signin".to_owned()] {
        let res = reqwest::Client::new().get(app.url(&path)).send().await?;
        let headers = res.headers().clone();
        assert_secured(&headers, &path);
        let html = res.text().await?;
        let (allowed, on_scripts) = nonces(&headers, &html);
        assert!(on_scripts.iter().all(|n| *n == allowed), "{path}: {on_scripts:?} against {allowed}");
        assert!(html.contains(&format!(r#"<script src="https://stats.example.org/script.js" nonce="{allowed}" defer"#)), "{path}: the page script");
        assert!(html.contains(&format!(r#"rel="modulepreload" href="/pkg/"#)) && html.contains(&format!(r#".js" nonce="{allowed}""#)), "{path}: the preload");
        let csp = header(&headers, "content-security-policy");
        assert!(csp.contains("'self' https://stats.example.org;"), "{path}: {csp}");
        assert!(csp.contains("connect-src 'self' https://stats.example.org https://collect.example.net;"), "{path}: {csp}");
        assert!(csp.contains("img-src 'self' data: https://stats.example.org https://collect.example.net;"), "{path}: {csp}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_only_when_served_over_https() -> anyhow::Result<()> {
    let mut cfg = test_config(fresh_database_url(Backend::Sqlite).await?);
    cfg.secure_cookies = true;
    let app = spawn_app_with(cfg).await?;
    let res = reqwest::Client::new().get(app.url("/")).send().await?;
    assert_eq!(header(res.headers(), "strict-transport-security"), "max-age=31536000; includeSubDomains");
    let res = reqwest::Client::new().get(app.url("/api/v1/products?limit=1")).send().await?;
    assert_eq!(header(res.headers(), "strict-transport-security"), "max-age=31536000; includeSubDomains");
    Ok(())
}

fn unzstd(bytes: &[u8]) -> anyhow::Result<String> {
    Ok(String::from_utf8(zstd::decode_all(bytes)?)?)
}

/// The body as text, decoded by its `Content-Encoding`.
async fn decoded(res: reqwest::Response) -> anyhow::Result<String> {
    let encoding = header(res.headers(), "content-encoding").to_owned();
    let bytes = res.bytes().await?;
    match encoding.as_str() {
        "" => Ok(String::from_utf8(bytes.to_vec())?),
        "br" => unbrotli(&bytes),
        "gzip" => ungzip(&bytes),
        "zstd" => unzstd(&bytes),
        other => anyhow::bail!("an encoding no one asked for: {other}"),
    }
}

/// On the fly: the coding the browser prefers among zstd, brotli and gzip; identity for an
/// answer too small to gain, and for an `Accept-Encoding` that names nothing known or cannot
/// be read (never an error).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coding_the_browser_prefers_on_the_fly_and_identity_for_anything_else() -> anyhow::Result<()> {
    let app = spawn_app(Backend::Sqlite).await?;
    let shopper = app.visitor();
    shopper.register("codings@example.com", "a long enough password").await?;
    let plain = shopper.client.get(app.url("/account")).send().await?.text().await?;
    assert!(plain.len() > usize::from(server::headers::COMPRESS_FROM_BYTES), "a page worth compressing");
    for (accept, wanted) in [("zstd", "zstd"), ("gzip;q=0.5, zstd;q=0.9, br;q=0.1", "zstd"), ("br;q=1.0, zstd;q=0.2", "br"), ("gzip", "gzip")] {
        let res = shopper.client.get(app.url("/account")).header(ACCEPT_ENCODING, accept).send().await?;
        assert_eq!((res.status().as_u16(), header(res.headers(), "content-encoding")), (200, wanted), "{accept}");
        let page = decoded(res).await?;
        assert!(page.contains("</html>") && page.len() * 2 > plain.len(), "{accept}: the whole page");
    }
    // Names nothing known, or cannot be read: the page as it is.
    for accept in ["x-unknown", "identity", "*;q=0", ";;,,", "br;q=abc", "gzip;q=", "q=1;br", "zstd;q=0, br;q=0, gzip;q=0"] {
        let res = shopper.client.get(app.url("/account")).header(ACCEPT_ENCODING, accept).send().await?;
        assert_eq!(res.status(), 200, "{accept}");
        let encoding = header(res.headers(), "content-encoding").to_owned();
        assert!(["", "br", "gzip", "zstd"].contains(&encoding.as_str()), "{accept}: {encoding}");
        assert!(decoded(res).await?.contains("</html>"), "{accept}");
        if ["x-unknown", "identity", ";;,,", "zstd;q=0, br;q=0, gzip;q=0"].contains(&accept) {
            assert_eq!(encoding, "", "{accept}: identity");
        }
    }
    // Too small to gain: sent as it is.
    let res = shopper.client.get(app.url("/healthz")).header(ACCEPT_ENCODING, "br, gzip, zstd").send().await?;
    let encoding = header(res.headers(), "content-encoding").to_owned();
    let body = res.bytes().await?;
    assert!(body.len() < usize::from(server::headers::COMPRESS_FROM_BYTES), "{} bytes", body.len());
    assert_eq!(encoding, "", "{} bytes are not compressed", body.len());
    Ok(())
}

/// A page sent in parts reaches the browser part by part through the compression layer the
/// router uses: the first part decodes before the second is even written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_answer_is_not_held_back_by_compression() -> anyhow::Result<()> {
    use axum::body::{Body, Bytes};
    use futures::StreamExt;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let released = Arc::new(Mutex::new(Some(released)));
    let first = "<p>the first part of the page</p>".repeat(100);
    let page = {
        let first = first.clone();
        move || {
            let (first, released) = (first.clone(), released.lock().unwrap().take());
            async move {
                let parts = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) }).chain(futures::stream::once(async move {
                    if let Some(r) = released {
                        let _ = r.await;
                    }
                    Ok(Bytes::from_static(b"<p>the second part</p>"))
                }));
                ([(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")], Body::from_stream(parts))
            }
        }
    };
    let router = axum::Router::new().route("/page", axum::routing::get(page)).layer(server::headers::compression());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut res = reqwest::Client::new().get(format!("http://{address}/page")).header(ACCEPT_ENCODING, "gzip").send().await?;
    assert_eq!(header(res.headers(), "content-encoding"), "gzip");
    let mut page = flate2::write::GzDecoder::new(Vec::new());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !String::from_utf8_lossy(page.get_ref()).contains(&first) {
        let chunk = tokio::time::timeout_at(deadline, res.chunk()).await.map_err(|_| anyhow::anyhow!("the first part was held back"))?;
        page.write_all(&chunk?.ok_or_else(|| anyhow::anyhow!("ended early"))?)?;
        page.flush()?;
    }
    release.send(()).map_err(|_| anyhow::anyhow!("the page stopped waiting"))?;
    while let Some(chunk) = tokio::time::timeout_at(deadline, res.chunk()).await?? {
        page.write_all(&chunk)?;
    }
    let whole = String::from_utf8(page.finish()?)?;
    assert_eq!(whole, format!("{first}<p>the second part</p>"));
    Ok(())
}

/// The websocket upgrades whatever codings the browser names: a 101 with no coding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_upgrades_whatever_the_browser_accepts() -> anyhow::Result<()> {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = spawn_app(Backend::Sqlite).await?;
    let mut req = format!("{}/ws", app.address.replace("http://", "ws://")).into_client_request()?;
    req.headers_mut().insert("accept-encoding", "gzip, deflate, br, zstd".parse()?);
    let (mut ws, res) = tokio_tungstenite::connect_async(req).await?;
    assert_eq!(res.status().as_u16(), 101);
    assert!(res.headers().get("content-encoding").is_none());
    let hello = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next()).await?.ok_or_else(|| anyhow::anyhow!("closed"))??;
    assert!(hello.to_text()?.contains("\"hello\""), "{hello:?}");
    Ok(())
}

/// `HEAD` of a page (not yet kept, or signed in) answers as its `GET` would: the same length,
/// no body; the page is rendered whole, not cut off with its session gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_of_a_page_gives_its_length_without_a_body() -> anyhow::Result<()> {
    let app = spawn_app(Backend::Sqlite).await?;
    let (id, _) = first_product(&app).await?;
    let path = format!("/p/{id}");
    let anonymous = reqwest::Client::new();
    let head = anonymous.head(app.url(&path)).send().await?;
    assert_eq!(head.status(), 200);
    let length: usize = header(head.headers(), "content-length").parse().unwrap_or(0);
    assert!(head.bytes().await?.is_empty(), "no body");
    let get = anonymous.get(app.url(&path)).send().await?.bytes().await?;
    assert_eq!(length, get.len(), "the length of the page its GET sends");

    let sam = app.visitor();
    sam.register("sam@example.com", "long enough").await?;
    let head = sam.client.head(app.url("/account")).send().await?;
    assert_eq!(head.status(), 200);
    let length: usize = header(head.headers(), "content-length").parse().unwrap_or(0);
    let page = sam.client.get(app.url("/account")).send().await?.text().await?;
    assert!(length > 1000 && page.contains("sam@example.com"), "a signed-in page rendered whole: {length} bytes");
    Ok(())
}
