//! Each file's presigned GET in turn, its body streamed through the ZIP encoder into the
//! writer chunk by chunk: one chunk at a time is held, never a file or the archive. A failed
//! file, a cancel or a closed download stops it with the reason. An encrypted file's bytes go
//! through its decryptor first, named and sized by its opened metadata.

use ferry_api::ArchiveGrant;
use ferry_app::crypto::meta::FileSecrets;
use ferry_app::zip::{Encoder, archive_size};
use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, ReadableStreamDefaultReader, RequestInit, Response};

use crate::decrypt::{Opener, plain_into, refused};
use crate::save::Sink;

/// One file of the ZIP: its path and plaintext size, where its stored bytes are, and for an
/// encrypted file its opened metadata.
pub struct Item {
    pub path: String,
    pub size: u64,
    pub url: String,
    pub secrets: Option<FileSecrets>,
}

/// The grant's files as the ZIP holds them: an encrypted file's path from its folder and name,
/// its size the plaintext's.
pub async fn items(grant: &ArchiveGrant, opener: Option<&Opener>) -> Result<Vec<Item>, String> {
    let mut items = Vec::with_capacity(grant.files.len());
    for entry in &grant.files {
        let secrets = match (&entry.encrypted, opener) {
            (Some(sealed), Some(opener)) => Some(
                opener
                    .secrets(sealed)
                    .await
                    .map_err(|e| refused("a file's name", &e))?,
            ),
            (Some(_), None) => return Err("This link's key is missing.".into()),
            (None, _) => None,
        };
        let path = match &secrets {
            Some(s) => match s.folder.as_deref().filter(|f| !f.is_empty()) {
                Some(folder) => format!("{folder}/{}", s.name),
                None => s.name.clone(),
            },
            None => entry.path.clone(),
        };
        items.push(Item {
            path,
            size: secrets.as_ref().map_or(entry.size, |s| s.size),
            url: entry.url.clone(),
            secrets,
        });
    }
    Ok(items)
}

/// The exact size of the ZIP of `items`.
pub fn zip_size(items: &[Item]) -> u64 {
    archive_size(items.iter().map(|f| (f.path.as_str(), f.size)))
}

/// Where the bytes go, with the reason in words when it stops taking them.
struct Out<'a> {
    sink: &'a Sink,
}

impl Out<'_> {
    async fn write(&self, bytes: &Uint8Array) -> Result<(), String> {
        self.sink.write(bytes).await.map_err(|e| {
            format!(
                "The download was stopped before it finished ({}).",
                js_text(&e)
            )
        })
    }
}

/// Writes the grant's files as one ZIP into `sink`, telling `progress("progress", done,
/// file)` now and then; on failure, the reason in words.
pub async fn write_zip(
    items: &[Item],
    opener: Option<&Opener>,
    sink: &Sink,
    progress: &Function,
    cancel: &AbortSignal,
    local_time: i64,
) -> Result<(), String> {
    stream_all(items, opener, &Out { sink }, progress, cancel, local_time).await
}

async fn stream_all(
    items: &[Item],
    opener: Option<&Opener>,
    out: &Out<'_>,
    progress: &Function,
    cancel: &AbortSignal,
    local_time: i64,
) -> Result<(), String> {
    let cancelled = || "You cancelled the download.".to_owned();
    let mut encoder = Encoder::new();
    let mut buffer = Vec::new();
    let mut done = 0u64;
    let mut last_report = 0.0;
    let report = |done: u64, file: usize| {
        let _ = progress.call3(
            &JsValue::NULL,
            &"progress".into(),
            &JsValue::from_f64(done as f64),
            &JsValue::from_f64(file as f64),
        );
    };
    for (i, entry) in items.iter().enumerate() {
        report(done, i + 1);
        let header = encoder
            .begin_entry(&entry.path, local_time, entry.size)
            .map_err(|e| e.to_string())?;
        out.write(&Uint8Array::from(header.as_slice())).await?;
        let failed = |why: String| {
            if cancel.aborted() {
                cancelled()
            } else {
                format!("“{}” could not be downloaded ({why}).", entry.path)
            }
        };
        let mut decrypt = match (&entry.secrets, opener) {
            (Some(secrets), Some(opener)) => Some(
                opener
                    .file(secrets)
                    .await
                    .map_err(|e| refused(&entry.path, &e))?,
            ),
            _ => None,
        };
        let reader = open(&entry.url, cancel).await.map_err(failed)?;
        loop {
            if cancel.aborted() {
                let _ = reader.cancel();
                return Err(cancelled());
            }
            let chunk = JsFuture::from(reader.read())
                .await
                .map_err(|e| failed(js_text(&e)))?;
            if Reflect::get(&chunk, &"done".into())
                .ok()
                .and_then(|d| d.as_bool())
                .unwrap_or(true)
            {
                break;
            }
            let bytes: Uint8Array = Reflect::get(&chunk, &"value".into())
                .ok()
                .and_then(|v| v.dyn_into().ok())
                .ok_or_else(|| failed("unreadable data".into()))?;
            buffer.resize(bytes.length() as usize, 0);
            bytes.copy_to(&mut buffer);
            let bytes = match &mut decrypt {
                Some(stream) => match stream.push(&buffer).await {
                    Ok(plain) => {
                        buffer = plain;
                        plain_into(bytes, &buffer)
                    }
                    Err(e) => {
                        let _ = reader.cancel();
                        return Err(refused(&entry.path, &e));
                    }
                },
                None => bytes,
            };
            if buffer.is_empty() {
                continue;
            }
            encoder.data(&buffer).map_err(|e| e.to_string())?;
            if let Err(e) = out.write(&bytes).await {
                let _ = reader.cancel();
                return Err(e);
            }
            done += buffer.len() as u64;
            let now = js_sys::Date::now();
            if now - last_report > 100.0 {
                last_report = now;
                report(done, i + 1);
            }
        }
        if let Some(stream) = decrypt {
            let last = stream
                .finish()
                .await
                .map_err(|e| refused(&entry.path, &e))?;
            if !last.is_empty() {
                encoder.data(&last).map_err(|e| e.to_string())?;
                out.write(&Uint8Array::from(last.as_slice())).await?;
                done += last.len() as u64;
            }
        }
        let descriptor = encoder.end_entry().map_err(|e| failed(e.to_string()))?;
        out.write(&Uint8Array::from(descriptor.as_slice())).await?;
    }
    report(done, items.len());
    let end = encoder.finish().map_err(|e| e.to_string())?;
    out.write(&Uint8Array::from(end.as_slice())).await
}

/// GETs `url` and returns a reader of its body, or why not.
pub async fn open(url: &str, cancel: &AbortSignal) -> Result<ReadableStreamDefaultReader, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = RequestInit::new();
    init.set_signal(Some(cancel));
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .and_then(|r| r.dyn_into())
        .map_err(|e| js_text(&e))?;
    if !response.ok() {
        return Err(format!("the server answered {}", response.status()));
    }
    response
        .body()
        .ok_or("no data")?
        .get_reader()
        .dyn_into()
        .map_err(|_| "no reader".to_owned())
}

/// A thrown JavaScript value as text.
pub fn js_text(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "unknown error".into())
}
