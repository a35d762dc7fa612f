//! Product pictures: sellers' uploads, served from the data dir, and placeholders drawn as
//! SVG from the product's id, brand and title so the demo shop needs no image files. Both are
//! served with long cache headers (an upload's name is never reused).

use app::db::product;
use app::state::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::EntityTrait;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn placeholder_svg(id: i64, n: i64, brand: &str, title: &str) -> String {
    let hue = ((id * 47 + n * 113) % 360 + 360) % 360;
    let hue2 = (hue + 40) % 360;
    let initials: String = title.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect();
    let shape = match n % 3 {
        0 => format!(r#"<circle cx="320" cy="300" r="150" fill="hsl({hue2},55%,62%)"/>"#),
        1 => format!(r#"<rect x="170" y="150" width="300" height="300" rx="36" fill="hsl({hue2},55%,62%)"/>"#),
        _ => format!(r#"<path d="M320 130 L490 450 L150 450 Z" fill="hsl({hue2},55%,62%)"/>"#),
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 640" role="img" aria-label="{label}"><rect width="640" height="640" fill="hsl({hue},45%,90%)"/>{shape}<text x="320" y="335" font-family="system-ui,sans-serif" font-size="96" font-weight="700" text-anchor="middle" fill="#fff">{initials}</text><text x="320" y="560" font-family="system-ui,sans-serif" font-size="30" text-anchor="middle" fill="hsl({hue},30%,30%)">{brand}</text></svg>"##,
        label = escape(title),
        initials = escape(&initials),
        brand = escape(brand),
    )
}

pub async fn product_image(State(state): State<AppState>, Path((id, file)): Path<(String, String)>) -> Response {
    let parsed = id.parse::<i64>().ok().zip(file.strip_suffix(".svg").and_then(|n| n.parse::<i64>().ok()));
    let Some((id, n)) = parsed else {
        return (StatusCode::NOT_FOUND, "no such image").into_response();
    };
    match product::Entity::find_by_id(id).one(&state.db).await {
        Ok(Some(p)) if n >= 0 && n < i64::from(p.image_count.max(1)) => (
            [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=604800, immutable")],
            placeholder_svg(p.id, n, &p.brand, &p.title),
        )
            .into_response(),
        Ok(_) => (StatusCode::NOT_FOUND, "no such image").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "loading product for its image");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Uploaded pictures under `<data dir>/media`, cached for a year: a file's name is random and
/// never reused, so its URL always means the same bytes. `nosniff`, so a browser never runs
/// one as anything but the picture its (sniffed-at-upload) type says.
pub fn media_service(dir: &std::path::Path) -> axum::Router {
    async fn cache_headers(mut res: Response) -> Response {
        let h = res.headers_mut();
        h.insert(header::X_CONTENT_TYPE_OPTIONS, axum::http::HeaderValue::from_static("nosniff"));
        if res.status().is_success() {
            res.headers_mut()
                .insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("public, max-age=31536000, immutable"));
        }
        res
    }
    axum::Router::new()
        .fallback_service(tower_http::services::ServeDir::new(dir))
        .layer(axum::middleware::map_response(cache_headers))
}
