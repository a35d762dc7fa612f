//! Product pictures: decoded in full before they are kept, stored under fresh names.

use super::*;

/// Why an upload is not a picture we keep.
#[derive(Debug, PartialEq, Eq)]
pub enum PictureRefusal {
    /// Not JPEG, PNG, GIF or WebP, or it does not decode in full (a header followed by
    /// something else, a file cut short).
    NotAPicture,
    /// Larger than the pixel limit (`SELLOUT_MAX_IMAGE_PIXELS`): width, height.
    TooManyPixels(u32, u32),
}

/// What the bytes are, decoded in full (never judged by the name, the declared type or the
/// first bytes): only raster formats browsers show, at most `max_pixels`. The size is read
/// from the header first, so a picture claiming to be huge is refused before any memory is
/// spent on it. SVG is refused, since it can carry script. Runs for a while on a big picture:
/// call it on the blocking pool.
pub fn check_picture(bytes: &[u8], max_pixels: u64) -> Result<(&'static str, &'static str), PictureRefusal> {
    use image::{ImageFormat, ImageReader};
    use std::io::Cursor;
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| PictureRefusal::NotAPicture)?;
    let (content_type, ext) = match reader.format() {
        Some(ImageFormat::Png) => ("image/png", "png"),
        Some(ImageFormat::Jpeg) => ("image/jpeg", "jpg"),
        Some(ImageFormat::Gif) => ("image/gif", "gif"),
        Some(ImageFormat::WebP) => ("image/webp", "webp"),
        _ => return Err(PictureRefusal::NotAPicture),
    };
    let (width, height) = reader.into_dimensions().map_err(|_| PictureRefusal::NotAPicture)?;
    if width == 0 || height == 0 {
        return Err(PictureRefusal::NotAPicture);
    }
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(PictureRefusal::TooManyPixels(width, height));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| PictureRefusal::NotAPicture)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // Room for the decoded pixels at 16 bits a channel, RGBA, and no more.
    limits.max_alloc = Some(u64::from(width) * u64::from(height) * 8 + 1024 * 1024);
    reader.limits(limits);
    reader.decode().map_err(|_| PictureRefusal::NotAPicture)?;
    Ok((content_type, ext))
}

/// Pictures decoded at once: each may take a few hundred MB for a moment.
static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// `check_picture` on the blocking pool, two at a time, as the error a person reads.
pub(super) async fn decoded_picture(bytes: &[u8], max_pixels: u64) -> Result<(&'static str, &'static str), AppError> {
    let _turn = DECODING.acquire().await.map_err(|_| AppError::Internal)?;
    let owned = bytes.to_vec();
    let checked = tokio::task::spawn_blocking(move || check_picture(&owned, max_pixels)).await.map_err(|e| {
        tracing::error!(error = %e, "decoding an uploaded picture");
        AppError::Internal
    })?;
    checked.map_err(|refusal| match refusal {
        PictureRefusal::NotAPicture => AppError::bad("image", "That file is not a picture we can use. Upload a JPEG, PNG, GIF or WebP."),
        PictureRefusal::TooManyPixels(w, h) => AppError::bad(
            "image",
            format!("That picture is {w} × {h} pixels; the most we take is {} megapixels. Make it smaller and try again.", max_pixels / 1_000_000),
        ),
    })
}

/// Checks and stores an uploaded picture: written under a fresh name (then renamed, so a
/// half-written file is never served), then recorded. Nothing is kept when a step fails.
#[tracing::instrument(skip(state, user, bytes), fields(user = user.user_id, size = bytes.len()))]
pub async fn add_image(state: &AppState, user: &CurrentUser, ProductId(id): ProductId, bytes: &[u8]) -> Result<SellerProduct, AppError> {
    let db = &state.db;
    load_owned(db, user, id).await?;
    if bytes.is_empty() {
        return Err(AppError::bad("image", "Choose a picture to upload."));
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(AppError::bad("image", "That picture is larger than 5 MB. Make it smaller and try again."));
    }
    let count = product_image::Entity::find().filter(product_image::Column::ProductId.eq(id)).count(db).await?;
    if count >= MAX_IMAGES {
        return Err(AppError::bad("image", format!("A product has at most {MAX_IMAGES} pictures. Remove one first.")));
    }
    let (content_type, ext) = decoded_picture(bytes, state.rules.max_image_pixels).await?;
    let dir = state.media_dir.join("products");
    let file_name = format!("{id}-{}.{ext}", uuid::Uuid::new_v4().simple());
    let path = dir.join(&file_name);
    let tmp = dir.join(format!(".{file_name}.part"));
    let io = |e: std::io::Error| {
        tracing::error!(error = %e, "storing an uploaded picture");
        AppError::Internal
    };
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    tokio::fs::write(&tmp, bytes).await.map_err(io)?;
    if let Err(e) = tokio::fs::rename(&tmp, &path).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(io(e));
    }
    let row = product_image::ActiveModel {
        product_id: Set(id),
        position: Set(count as i32),
        file_name: Set(file_name.clone()),
        content_type: Set(content_type.to_owned()),
        byte_size: Set(bytes.len() as i64),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Err(e) = row.insert(db).await {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(e.into());
    }
    touch(db, id).await?;
    announce(state, id).await;
    get(db, user, ProductId(id)).await
}

pub(super) async fn touch(db: &DatabaseConnection, id: i64) -> Result<(), DbErr> {
    product::Entity::update_many()
        .col_expr(product::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(product::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

#[tracing::instrument(skip(state, user), fields(user = user.user_id))]
pub async fn remove_image(state: &AppState, user: &CurrentUser, ProductId(id): ProductId, ImageId(image_id): ImageId) -> Result<SellerProduct, AppError> {
    let db = &state.db;
    load_owned(db, user, id).await?;
    let img = product_image::Entity::find_by_id(image_id)
        .filter(product_image::Column::ProductId.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("Product {id} has no picture {image_id}.")))?;
    product_image::Entity::delete_by_id(img.id).exec(db).await?;
    if let Err(e) = tokio::fs::remove_file(state.media_dir.join("products").join(&img.file_name)).await {
        tracing::warn!(error = %e, file = img.file_name, "removing a picture's file");
    }
    touch(db, id).await?;
    announce(state, id).await;
    get(db, user, ProductId(id)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
        let picture = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 40) as u8, (y * 60) as u8, 128])));
        // GIF is written from RGBA, JPEG only from RGB.
        let picture = if format == image::ImageFormat::Gif { image::DynamicImage::ImageRgba8(picture.to_rgba8()) } else { picture };
        let mut out = std::io::Cursor::new(Vec::new());
        picture.write_to(&mut out, format).expect("encoding a test picture");
        out.into_inner()
    }

    #[test]
    fn pictures_are_decoded_not_sniffed() {
        use image::ImageFormat;
        for (format, expected) in [(ImageFormat::Png, ("image/png", "png")), (ImageFormat::Gif, ("image/gif", "gif")), (ImageFormat::Jpeg, ("image/jpeg", "jpg"))] {
            let bytes = encoded(format, 6, 4);
            assert_eq!(check_picture(&bytes, 1_000), Ok(expected), "{format:?}");
            // Cut short, it no longer decodes, though it starts like one.
            assert_eq!(check_picture(&bytes[..bytes.len() * 2 / 3], 1_000), Err(PictureRefusal::NotAPicture), "{format:?} cut short");
            assert_eq!(check_picture(&bytes, 23), Err(PictureRefusal::TooManyPixels(6, 4)), "{format:?} over the limit");
        }
        for not in [
            &b"\x89PNG\r\n\x1a\n"[..],
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00<html><script>alert(1)</script></html>",
            b"RIFF\0\0\0\0WEBPVP8 ",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>",
            b"%PDF-1.7",
            b"",
        ] {
            assert_eq!(check_picture(not, crate::checkout::rules::DEFAULT_MAX_IMAGE_PIXELS), Err(PictureRefusal::NotAPicture), "{:?}", String::from_utf8_lossy(not));
        }
    }
}
