//! Thumbnails of uploaded images: JPEG, PNG, WebP and GIF (first frame) up to
//! `limits.thumbnail_max_bytes`, scaled to fit 256 × 256 and stored as lossless WebP at
//! `thumbs/{sub}/{file_id}.webp`.
//!
//! A thumbnail is a nicety: failing to make one is logged and never fails the upload.
//!
//! Decoding is the expensive part, and a few hundred kilobytes of PNG can claim gigabytes of
//! pixels. So the dimensions are read from the header and checked against a pixel budget before
//! anything is decoded, decoding has an allocation limit, and the decodes of one process take
//! turns through a [`WorkGate`](crate::work_gate::WorkGate).

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use std::io::Cursor;

use crate::domain::{FileRecord, thumbnail_object_key};
use crate::event_context::EventContext;
use crate::ports::{MetadataError, StorageError, Transition};

/// Longest edge of a thumbnail, in pixels.
pub const MAX_EDGE: u32 = 256;
/// Media types that get a thumbnail.
pub const IMAGE_TYPES: [&str; 5] = [
    "image/jpeg",
    "image/jpg",
    "image/png",
    "image/webp",
    "image/gif",
];
/// Largest image decoded, in pixels (a 40-megapixel camera's photos fit). Larger ones are
/// refused from their header, before any pixel memory is allocated.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Longest edge decoded, whatever the pixel count.
const MAX_DIMENSION: u32 = 16_384;
/// Pixel memory one decode may claim: 40 MP of 8-bit RGBA, not more.
const MAX_DECODE_ALLOC: u64 = 160 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    #[error("not a supported image")]
    Unsupported,
    /// Refused from its header: decoding it would cost more than [`MAX_PIXELS`].
    #[error("image of {width} × {height} pixels is above the {MAX_PIXELS}-pixel budget")]
    TooManyPixels { width: u32, height: u32 },
    #[error("image could not be decoded: {0}")]
    Decode(#[from] image::ImageError),
    #[error("image could not be read: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error("thumbnail task failed: {0}")]
    Task(String),
}

/// Whether a file of this type and size should get a thumbnail.
pub fn wanted(file: &FileRecord, max_bytes: u64) -> bool {
    // End-to-end encrypted bytes are never decoded (their browser makes their thumbnail).
    file.encrypted.is_none()
        && file.size > 0
        && file.size <= max_bytes
        && IMAGE_TYPES.contains(&file.content_type.essence())
}

fn decode_limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
}

/// Decodes an image (format sniffed from the bytes, not taken from the name or declared type)
/// and renders its thumbnail as lossless WebP. Images above [`MAX_PIXELS`] are refused from
/// their header, before decoding.
pub fn render(bytes: &[u8]) -> Result<Vec<u8>, ThumbnailError> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif) => {}
        _ => return Err(ThumbnailError::Unsupported),
    }
    // Only the allocation limit while the header is read, so that an oversized image is
    // reported by its pixel count; the dimension limits follow in `decode`.
    let mut header_limits = image::Limits::default();
    header_limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(header_limits);
    let decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ThumbnailError::TooManyPixels { width, height });
    }
    let image = decode(decoder)?;
    let small = if image.width() > MAX_EDGE || image.height() > MAX_EDGE {
        image.thumbnail(MAX_EDGE, MAX_EDGE)
    } else {
        image
    };
    // The WebP encoder takes 8-bit RGB(A) only.
    let small = if small.color().has_alpha() {
        DynamicImage::ImageRgba8(small.to_rgba8())
    } else {
        DynamicImage::ImageRgb8(small.to_rgb8())
    };
    let mut out = Vec::new();
    small.write_to(&mut Cursor::new(&mut out), ImageFormat::WebP)?;
    Ok(out)
}

/// Decodes within [`decode_limits`]: the pixel buffer is reserved against the allocation limit
/// before it exists, and the decoder keeps to the same limits for its own buffers.
fn decode(mut decoder: impl ImageDecoder) -> Result<DynamicImage, ThumbnailError> {
    let mut limits = decode_limits();
    limits.reserve(decoder.total_bytes())?;
    decoder.set_limits(limits)?;
    Ok(DynamicImage::from_decoder(decoder)?)
}

/// Makes, stores and records the thumbnail of a ready file. Returns its key, or `None` when the
/// file is not an image that gets one.
pub async fn create(
    ctx: &EventContext,
    file: &FileRecord,
) -> Result<Option<String>, ThumbnailError> {
    if !wanted(file, ctx.limits.thumbnail_max_bytes) {
        return Ok(None);
    }
    // The turn comes before the bytes, so images waiting in line hold no memory.
    let turn = ctx
        .images
        .enter()
        .await
        .map_err(|busy| ThumbnailError::Task(busy.to_string()))?;
    let Some(bytes) = ctx
        .objects
        .get(&file.object_key(), ctx.limits.thumbnail_max_bytes)
        .await?
    else {
        return Ok(None);
    };
    // The turn moves into the blocking job: it ends when the decode ends, even if this future
    // is dropped meanwhile.
    let webp = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        render(&bytes)
    })
    .await
    .map_err(|e| ThumbnailError::Task(e.to_string()))??;
    let key = thumbnail_object_key(&file.owner, &file.id);
    ctx.objects.put(&key, webp.into(), "image/webp").await?;
    match ctx.meta.set_thumbnail(&file.owner, &file.id, &key).await? {
        Transition::Applied | Transition::Unchanged => Ok(Some(key)),
        // Deleted meanwhile: do not leave the thumbnail behind.
        Transition::Missing => {
            ctx.objects.delete(&key).await?;
            Ok(None)
        }
    }
}

/// [`create`], with failures logged instead of returned: used right after an upload is marked
/// ready, where a broken image must not turn into a failed (and retried) event.
pub async fn create_logged(ctx: &EventContext, file: &FileRecord) {
    match create(ctx, file).await {
        Ok(Some(key)) => tracing::info!(file = %file.id, key, "thumbnail stored"),
        Ok(None) => {}
        // Refused or undecodable images end here too: a retry would refuse them again.
        Err(err) => tracing::warn!(file = %file.id, error = %err, "no thumbnail"),
    }
}

/// For tests (here and in `tests/`): the bytes of an 8-bit grey PNG of `width` × `height` whose
/// image data is `idat`, taken as given, so a test can claim any size without the pixels.
#[doc(hidden)]
pub fn grey_png(width: u32, height: u32, idat: &[u8]) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
            }
        }
        !crc
    }
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (b"IHDR", ihdr.as_slice()),
        (b"IDAT", idat),
        (b"IEND", &[][..]),
    ] {
        // A chunk's length is a u32 by the format; test data never comes near it.
        png.extend((data.len() as u32).to_be_bytes());
        let chunk = [kind.as_slice(), data].concat();
        png.extend(&chunk);
        png.extend(crc32(&chunk).to_be_bytes());
    }
    png
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn encoded(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Vec::new();
        image.write_to(&mut Cursor::new(&mut out), format).unwrap();
        out
    }

    fn gradient(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128])
        }))
    }

    #[test]
    fn every_supported_format_becomes_a_small_webp() {
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::WebP,
            ImageFormat::Gif,
        ] {
            let source = encoded(gradient(1024, 512), format);
            let thumb = render(&source).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            let decoded = image::load_from_memory_with_format(&thumb, ImageFormat::WebP).unwrap();
            assert_eq!(
                (decoded.width(), decoded.height()),
                (256, 128),
                "{format:?}"
            );
        }
    }

    #[test]
    fn small_images_keep_their_size_and_transparency() {
        let source = DynamicImage::ImageRgba8(RgbaImage::from_pixel(40, 30, Rgba([1, 2, 3, 0])));
        let thumb = render(&encoded(source, ImageFormat::Png)).unwrap();
        let decoded = image::load_from_memory(&thumb).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (40, 30));
        assert!(decoded.color().has_alpha());
    }

    #[test]
    fn other_bytes_are_refused() {
        assert!(matches!(
            render(b"%PDF-1.7 not an image"),
            Err(ThumbnailError::Unsupported)
        ));
        let bmp = [b"BM".as_slice(), &[0u8; 64]].concat();
        assert!(
            matches!(render(&bmp), Err(ThumbnailError::Unsupported)),
            "BMP is not supported"
        );
        let mut truncated = encoded(gradient(300, 300), ImageFormat::Png);
        truncated.truncate(truncated.len() / 2);
        assert!(render(&truncated).is_err());
    }

    /// A PNG claiming `width` × `height` 8-bit grey pixels whose image data is garbage: enough
    /// for anything that reads the dimensions first, undecodable for anything else.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        grey_png(width, height, &[0xFF; 16])
    }

    #[test]
    fn images_above_the_pixel_budget_are_refused_from_their_header() {
        // 16000 × 16000 is 256 MP: refused before a single row is decoded (there are none).
        let refused = render(&png_header(16_000, 16_000));
        assert!(
            matches!(
                refused,
                Err(ThumbnailError::TooManyPixels {
                    width: 16_000,
                    height: 16_000
                })
            ),
            "{refused:?}"
        );
        // Within the budget, the same header gets as far as decoding (and fails there).
        assert!(matches!(
            render(&png_header(6_000, 6_000)),
            Err(ThumbnailError::Decode(_) | ThumbnailError::Io(_))
        ));
    }
}
