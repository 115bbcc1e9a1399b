//! The browser half of sealed thumbnails ([`super::thumbnail`]): draw the picked image small
//! with `createImageBitmap` and an `OffscreenCanvas` (WebP, JPEG where WebP does not encode),
//! seal it, and store it through the API's presigned PUT; and open a stored one for display as
//! a `blob:` URL. Called through `js_sys::Reflect`, as these APIs are not among the web-sys
//! features the app builds with.

use ferry_api::encryption::SealedThumbnail;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use super::link::TransferKey;
use super::thumbnail::{self, MAX_IMAGE_BYTES, fit, wanted};
use super::webcrypto::{WebCrypto, random_bytes};
use super::{CryptoError, SALT_LEN};

fn js(err: JsValue) -> CryptoError {
    CryptoError::Backend(
        err.as_string()
            .or_else(|| {
                err.dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
            })
            .unwrap_or_else(|| "the image could not be drawn".into()),
    )
}

fn get(target: &JsValue, name: &str) -> Result<JsValue, CryptoError> {
    Reflect::get(target, &JsValue::from_str(name)).map_err(js)
}

fn call(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, CryptoError> {
    let method: Function = get(target, name)?
        .dyn_into()
        .map_err(|_| CryptoError::Backend(format!("no {name} here")))?;
    method
        .apply(target, &args.iter().collect::<Array>())
        .map_err(js)
}

async fn settle(value: JsValue) -> Result<JsValue, CryptoError> {
    JsFuture::from(Promise::resolve(&value)).await.map_err(js)
}

async fn bytes_of(blob: &Blob) -> Result<Vec<u8>, CryptoError> {
    let buffer = JsFuture::from(blob.array_buffer()).await.map_err(js)?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// The picked image drawn to fit 256 px and encoded, at most [`MAX_IMAGE_BYTES`].
pub async fn draw(image: &Blob) -> Result<Vec<u8>, CryptoError> {
    let global = js_sys::global();
    let bitmap = settle(call(&global, "createImageBitmap", &[image.into()])?).await?;
    let dimension = |name| {
        get(&bitmap, name).map(|v| v.as_f64().unwrap_or(0.0).clamp(0.0, f64::from(u32::MAX)) as u32)
    };
    let (width, height) = fit(dimension("width")?, dimension("height")?);
    let class: Function = get(&global, "OffscreenCanvas")?
        .dyn_into()
        .map_err(|_| CryptoError::Backend("no OffscreenCanvas here".into()))?;
    let canvas =
        Reflect::construct(&class, &Array::of2(&width.into(), &height.into())).map_err(js)?;
    let context = call(&canvas, "getContext", &["2d".into()])?;
    call(
        &context,
        "drawImage",
        &[
            bitmap.clone(),
            0.into(),
            0.into(),
            width.into(),
            height.into(),
        ],
    )?;
    let _ = call(&bitmap, "close", &[]);
    // WebP first; a browser without a WebP encoder answers PNG, so JPEG then; lower quality if
    // a detailed image comes out too large.
    for (kind, quality) in [
        ("image/webp", 0.8),
        ("image/jpeg", 0.8),
        ("image/jpeg", 0.5),
    ] {
        let options = Object::new();
        Reflect::set(&options, &"type".into(), &kind.into()).map_err(js)?;
        Reflect::set(&options, &"quality".into(), &quality.into()).map_err(js)?;
        let blob: Blob = settle(call(&canvas, "convertToBlob", &[options.into()])?)
            .await?
            .dyn_into()
            .map_err(|_| CryptoError::Backend("convertToBlob gave no blob".into()))?;
        if blob.type_() == kind && blob.size() as usize <= MAX_IMAGE_BYTES {
            return bytes_of(&blob).await;
        }
    }
    Err(CryptoError::Malformed("a thumbnail over 64 KiB"))
}

/// Makes, seals and stores the thumbnail of an encrypted file just uploaded (`file_id`), if
/// `image` is an image, and answers a `blob:` URL of it to show at once. A thumbnail is a
/// nicety: any failure is logged and the upload stands.
pub async fn send_sealed_thumbnail(
    api: &crate::api_client::Api,
    file_id: &str,
    key: &TransferKey,
    image: &Blob,
    content_type: &str,
) -> Option<String> {
    if !wanted(content_type, image.size()) {
        return None;
    }
    send(api, file_id, key, image)
        .await
        .inspect_err(|err| leptos::logging::warn!("no thumbnail for an encrypted file: {err}"))
        .ok()
}

async fn send(
    api: &crate::api_client::Api,
    file_id: &str,
    key: &TransferKey,
    image: &Blob,
) -> Result<String, CryptoError> {
    let drawn = draw(image).await?;
    let mut salt = [0; SALT_LEN];
    random_bytes(&mut salt)?;
    let sealed = thumbnail::seal(&WebCrypto::new()?, key, salt, &drawn).await?;
    let grant: ferry_api::PresignedRequest = api
        .post(
            &format!("/files/{}/thumbnail", crate::url_encoding::escape(file_id)),
            &SealedThumbnail {
                size: sealed.len() as u64,
            },
        )
        .await
        .map_err(|err| CryptoError::Backend(err.message))?;
    let mut request =
        gloo_net::http::RequestBuilder::new(&grant.url).method(gloo_net::http::Method::PUT);
    for header in &grant.headers {
        request = request.header(&header.name, &header.value);
    }
    let body = Uint8Array::from(&sealed[..]);
    let sent = request
        .body(body)
        .map_err(|err| CryptoError::Backend(err.to_string()))?
        .send()
        .await
        .map_err(|err| CryptoError::Backend(err.to_string()))?;
    if sent.ok() {
        blob_url(&drawn)
    } else {
        Err(CryptoError::Backend(format!(
            "storage answered {}",
            sent.status()
        )))
    }
}

/// Fetches a sealed thumbnail (a presigned GET) and opens it into a `blob:` URL to show.
pub async fn open_url(url: &str, key: &TransferKey) -> Result<String, CryptoError> {
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|err| CryptoError::Backend(err.to_string()))?;
    if !response.ok() {
        return Err(CryptoError::Backend(format!(
            "storage answered {}",
            response.status()
        )));
    }
    let sealed = response
        .binary()
        .await
        .map_err(|err| CryptoError::Backend(err.to_string()))?;
    let image = thumbnail::open(&WebCrypto::new()?, key, &sealed).await?;
    blob_url(&image)
}

/// A `blob:` URL of thumbnail bytes, typed by their first bytes.
fn blob_url(image: &[u8]) -> Result<String, CryptoError> {
    let options = Object::new();
    Reflect::set(
        &options,
        &"type".into(),
        &thumbnail::image_type(image).into(),
    )
    .map_err(js)?;
    let class: Function = get(&js_sys::global(), "Blob")?
        .dyn_into()
        .map_err(|_| CryptoError::Backend("no Blob here".into()))?;
    let parts = Array::of1(&Uint8Array::from(image));
    let blob = Reflect::construct(&class, &Array::of2(&parts, &options)).map_err(js)?;
    let url = call(&get(&js_sys::global(), "URL")?, "createObjectURL", &[blob])?;
    url.as_string()
        .ok_or_else(|| CryptoError::Backend("no object URL".into()))
}
