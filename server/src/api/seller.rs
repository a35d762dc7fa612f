//! The seller's catalog over REST, `/api/v1/seller/products`: the same rules as the `/seller`
//! pages (`app::seller::service`). A seller sees only their own products; an admin sees all.

use app::error::AppError;
use app::ids::{ImageId, ProductId};
use app::seller::{ProductInput, ProductStatus, SellerListQuery, SellerProduct, SellerProductList, service};
use app::state::AppState;
use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::guard::{Caller, Id, JsonBody, QueryOf, SellerUser};
use super::{ApiError, ErrorBody, error_response};
use app::accounts::Need;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Your products (an admin: everyone's), newest change first, 25 per page.
#[utoipa::path(tag = "seller", get, path = "/api/v1/seller/products",
    params(
        ("q" = Option<String>, Query, description = "Words of the title or brand, or part of a SKU"),
        ("status" = Option<String>, Query, description = "draft, active or archived"),
        ("page" = Option<u64>, Query, description = "1-based page"),
    ),
    responses((status = 200, body = SellerProductList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, SellerUser(user): SellerUser, QueryOf(query): QueryOf<SellerListQuery>) -> Result<Json<SellerProductList>, ApiError> {
    Ok(Json(service::list(&state.db, &user, &query).await?))
}

/// Creates a product (a draft unless `status` says `active`) with its variants and stock.
#[utoipa::path(tag = "seller", post, path = "/api/v1/seller/products", request_body = ProductInput,
    responses((status = 201, body = SellerProduct), (status = 400, description = "Bad fields, each named", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(State(state): State<AppState>, SellerUser(user): SellerUser, JsonBody(input): JsonBody<ProductInput>) -> Result<(StatusCode, Json<SellerProduct>), ApiError> {
    Ok((StatusCode::CREATED, Json(service::create(&state, &user, input).await?)))
}

#[utoipa::path(tag = "seller", get, path = "/api/v1/seller/products/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = SellerProduct), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<ProductId>) -> Result<Json<SellerProduct>, ApiError> {
    Ok(Json(service::get(&state.db, &user, id).await?))
}

/// Replaces the product's fields and variants (matched by SKU; a variant without stock keeps
/// its stock). `status` publishes (active), unpublishes (draft) or archives.
#[utoipa::path(tag = "seller", put, path = "/api/v1/seller/products/{id}", params(("id" = i64, Path)), request_body = ProductInput,
    responses((status = 200, body = SellerProduct), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<ProductId>, JsonBody(input): JsonBody<ProductInput>) -> Result<Json<SellerProduct>, ApiError> {
    Ok(Json(service::update(&state, &user, id, input).await?))
}

/// Archives the product: shoppers no longer see it, orders keep their history.
#[utoipa::path(tag = "seller", delete, path = "/api/v1/seller/products/{id}", params(("id" = i64, Path)),
    responses((status = 204, description = "Archived"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn archive(State(state): State<AppState>, SellerUser(user): SellerUser, Id(id): Id<ProductId>) -> Result<StatusCode, ApiError> {
    service::set_status(&state, &user, id, ProductStatus::Archived).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A plain HTML form (no JavaScript) wants a page back, not JSON.
fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    accept.contains("text/html") && !accept.contains("application/json")
}

const TOO_LARGE: &str = "That picture is larger than 5 MB. Make it smaller and try again.";

/// Bytes we read of an upload before answering 413: a browser that is still sending when the
/// answer comes often reports a broken connection instead of showing the answer.
const DRAIN_LIMIT: usize = 32 * 1024 * 1024;
/// A 5 MB picture plus room for the multipart envelope.
const UPLOAD_LIMIT: usize = app::seller::MAX_IMAGE_BYTES + 64 * 1024;

/// The whole body, or `None` when it is over `UPLOAD_LIMIT` (read on up to `DRAIN_LIMIT`).
async fn read_capped(body: axum::body::Body) -> Result<Option<Vec<u8>>, Response> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| error_response(StatusCode::BAD_REQUEST, "bad_request", "The upload was interrupted. Please try again."))?;
        let Ok(data) = frame.into_data() else { continue };
        total += data.len();
        if total <= UPLOAD_LIMIT {
            buf.extend_from_slice(&data);
        } else if total > DRAIN_LIMIT {
            break;
        }
    }
    Ok((total <= UPLOAD_LIMIT).then_some(buf))
}

/// The picture's bytes: the `image` field of a multipart form, or the whole body when it is
/// sent raw (`Content-Type: image/png`, ...).
async fn upload_bytes(req: Request, state: &AppState) -> Result<Vec<u8>, Response> {
    let (parts, body) = req.into_parts();
    let too_large = || error_response(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", TOO_LARGE);
    let Some(bytes) = read_capped(body).await? else { return Err(too_large()) };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("multipart/form-data") {
        return if bytes.len() > app::seller::MAX_IMAGE_BYTES { Err(too_large()) } else { Ok(bytes) };
    }
    let bad = |m: &str| ApiError(AppError::bad("image", m)).into_response();
    let req = Request::from_parts(parts, axum::body::Body::from(bytes));
    let mut form = Multipart::from_request(req, state).await.map_err(|e| bad(&e.body_text()))?;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("image") => {
                let picture = field.bytes().await.map_err(|e| bad(&e.body_text()))?;
                return if picture.len() > app::seller::MAX_IMAGE_BYTES { Err(too_large()) } else { Ok(picture.to_vec()) };
            }
            Ok(Some(_)) => continue,
            Ok(None) => return Err(bad("Choose a picture to upload (form field \"image\").")),
            Err(e) => return Err(bad(&e.body_text())),
        }
    }
}

/// Adds a picture (JPEG, PNG, GIF or WebP, at most 5 MB and `SELLOUT_MAX_IMAGE_PIXELS`; decoded
/// in full before it is kept).
#[utoipa::path(tag = "seller", post, path = "/api/v1/seller/products/{id}/images", params(("id" = i64, Path)),
    request_body(content = Vec<u8>, description = "multipart/form-data with an `image` field, or the raw picture", content_type = "multipart/form-data"),
    responses((status = 201, body = SellerProduct), (status = 400, description = "Not a picture that decodes, or too many pixels", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, description = "Larger than 5 MB", body = ErrorBody)))]
pub async fn add_image(State(state): State<AppState>, caller: Caller, Id(pid): Id<ProductId>, req: Request) -> Response {
    let html = wants_html(req.headers());
    let result: Result<SellerProduct, Failure> = async {
        let user = caller.require(Need::Seller).map_err(|e| Failure::App(e.0))?.clone();
        let bytes = upload_bytes(req, &state).await.map_err(Failure::Body)?;
        service::add_image(&state, &user, pid, &bytes).await.map_err(Failure::App)
    }
    .await;
    match (result, html) {
        (Ok(p), false) => (StatusCode::CREATED, Json(p)).into_response(),
        (Ok(p), true) => Redirect::to(&format!("/seller/products/{}?notice=Picture+added", p.product_id)).into_response(),
        (Err(Failure::App(e)), false) => ApiError(e).into_response(),
        (Err(Failure::Body(response)), false) => response,
        (Err(failure), true) => {
            let message = match failure {
                Failure::App(e) => e.field("image").unwrap_or_else(|| e.to_string()),
                Failure::Body(_) => TOO_LARGE.to_owned(),
            };
            let message = app::ui::forms::url_encode(&message);
            Redirect::to(&format!("/seller/products/{pid}?image_error={message}")).into_response()
        }
    }
}

/// Why an upload failed: a rule of the shop, or a body we could not read (already a response).
enum Failure {
    App(AppError),
    Body(Response),
}

#[utoipa::path(tag = "seller", delete, path = "/api/v1/seller/products/{id}/images/{image_id}", params(("id" = i64, Path), ("image_id" = i64, Path)),
    responses((status = 200, body = SellerProduct), (status = 404, body = ErrorBody)))]
pub async fn remove_image(State(state): State<AppState>, SellerUser(user): SellerUser, Path((id, image_id)): Path<(String, String)>) -> Result<Json<SellerProduct>, ApiError> {
    let (id, image_id) = (ProductId::parse(&id)?, ImageId::parse(&image_id)?);
    Ok(Json(service::remove_image(&state, &user, id, image_id).await?))
}

/// The product editor as a plain form, before (or without) the wasm: the same reading of the
/// fields as the page's own (`app::seller::product_from_form`) and the same service as every
/// other path. Saved: to the product's page with a notice. Refused: back to the form, which
/// shows every field as typed and each problem beside its field (left in the session, taken
/// once by the page).
#[utoipa::path(tag = "seller", post, path = "/api/v1/seller/products/form",
    request_body(content = String, description = "The editor's fields: title, brand, category, tags, description, currency, product_id (to save one), variants[i].sku, variants[i].attributes, variants[i].price, variants[i].stock.<warehouse>", content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "To the product's page, or back to the form with what to fix")))]
pub async fn save_form(State(state): State<AppState>, caller: Caller, axum::Form(fields): axum::Form<Vec<(String, String)>>) -> Response {
    let product_id = fields.iter().find(|(k, _)| k == "product_id").and_then(|(_, v)| v.trim().parse::<i64>().ok());
    let back = match product_id {
        Some(id) => format!("/seller/products/{id}"),
        None => "/seller/products/new".to_owned(),
    };
    let user = match caller.require(Need::Seller) {
        Ok(u) => u.clone(),
        Err(_) if caller.user.is_none() => return Redirect::to(&format!("/signin?next={}", app::ui::forms::url_encode(&back))).into_response(),
        Err(e) => return e.into_response(),
    };
    let mut rows = Vec::new();
    let result = match app::seller::product_from_form(&fields) {
        Err(found) => Err(AppError::Invalid(found)),
        Ok((input, from_rows)) => {
            rows = from_rows;
            match product_id {
                None => service::create(&state, &user, input).await.map(|p| (p, "Product created")),
                Some(id) => service::update(&state, &user, ProductId(id), input).await.map(|p| (p, "Saved")),
            }
        }
    };
    match result {
        Ok((p, notice)) => {
            let _ = caller.session.remove::<app::seller::ProductFormFeedback>(app::seller::PRODUCT_FORM_FEEDBACK).await;
            Redirect::to(&format!("/seller/products/{}?notice={}", p.product_id, app::ui::forms::url_encode(notice))).into_response()
        }
        Err(e) if matches!(e, AppError::NotFound(_) | AppError::Forbidden(_)) => ApiError(e).into_response(),
        Err(e) => {
            let nonce = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default());
            let feedback = app::seller::ProductFormFeedback {
                nonce: nonce.clone(),
                product_id,
                message: e.to_string(),
                errors: if rows.is_empty() { e.fields() } else { app::seller::to_form_rows(e.fields(), &rows) },
                kept: fields.into_iter().filter(|(k, _)| k != "product_id").collect(),
            };
            if let Err(e) = caller.session.insert(app::seller::PRODUCT_FORM_FEEDBACK, &feedback).await {
                tracing::error!(error = %e, "keeping a refused product form");
                return ApiError(AppError::Internal).into_response();
            }
            Redirect::to(&format!("{back}?form={nonce}")).into_response()
        }
    }
}

/// This module's endpoints (the seller's catalog and pictures), each declared once: route and OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, archive))
        .routes(routes!(remove_image))
        .routes(routes!(save_form))
        // The handler caps the upload itself (5 MB and the multipart envelope).
        .merge(OpenApiRouter::new().routes(routes!(add_image)).layer(axum::extract::DefaultBodyLimit::disable()))
}
