//! "Download all": each file's presigned GET in turn, its body streamed through the ZIP
//! encoder into a [`Sink`], chunk by chunk; the page holds one chunk at a time, never a file or
//! the archive. A failed file, a cancel or a closed download aborts the whole ZIP, so nothing
//! incomplete is saved as if it were whole.

use std::cell::Cell;
use std::rc::Rc;

use ferry_api::ArchiveGrant;
use ferry_app::zip::{Encoder, archive_size};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, Response};

use crate::save::Sink;

/// How far the ZIP is.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// File bytes written so far.
    pub done: u64,
    pub total: u64,
    /// 1-based: the file being written.
    pub file: usize,
    pub files: usize,
}

/// The exact size of the grant's ZIP (announced to the browser as its length).
pub fn zip_size(grant: &ArchiveGrant) -> u64 {
    archive_size(grant.files.iter().map(|f| (f.path.as_str(), f.size)))
}

/// Writes the grant's files as one ZIP into `sink`; `report` hears of progress now and then.
/// On any failure the sink is aborted and the reason returned, in words.
pub async fn write_zip(
    grant: &ArchiveGrant,
    sink: Sink,
    cancelled: Rc<Cell<bool>>,
    mut report: impl FnMut(Progress),
) -> Result<(), String> {
    let mut progress = Progress {
        total: grant.total_size,
        files: grant.files.len(),
        ..Progress::default()
    };
    match stream_all(grant, &sink, &cancelled, &mut progress, &mut report).await {
        Ok(()) => {
            report(progress);
            sink.close()
                .await
                .map_err(|e| format!("The ZIP could not be finished ({}).", js_text(&e)))
        }
        Err(reason) => {
            sink.abort(&reason);
            Err(reason)
        }
    }
}

async fn stream_all(
    grant: &ArchiveGrant,
    sink: &Sink,
    cancelled: &Cell<bool>,
    progress: &mut Progress,
    report: &mut impl FnMut(Progress),
) -> Result<(), String> {
    let now = js_sys::Date::new_0();
    let local = (now.get_time() / 1000.0) as i64 - (now.get_timezone_offset() * 60.0) as i64;
    let mut encoder = Encoder::new();
    let mut buffer = Vec::new();
    let mut last_report = 0.0;
    let closed = |e: JsValue| {
        format!(
            "The download was stopped before it finished ({}).",
            js_text(&e)
        )
    };
    for (i, entry) in grant.files.iter().enumerate() {
        progress.file = i + 1;
        report(*progress);
        let header = encoder
            .begin_entry(&entry.path, local, entry.size)
            .map_err(|e| e.to_string())?;
        sink.write(&Uint8Array::from(header.as_slice()))
            .await
            .map_err(closed)?;
        let failed = |why: String| format!("“{}” could not be downloaded ({why}).", entry.path);
        let reader = open(&entry.url).await.map_err(failed)?;
        loop {
            if cancelled.get() {
                let _ = reader.cancel();
                return Err("You cancelled the download.".into());
            }
            let chunk = match JsFuture::from(reader.read()).await {
                Ok(chunk) => chunk,
                Err(e) => return Err(failed(js_text(&e))),
            };
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
            encoder.data(&buffer).map_err(|e| e.to_string())?;
            if let Err(e) = sink.write(&bytes).await {
                let _ = reader.cancel();
                return Err(closed(e));
            }
            progress.done += buffer.len() as u64;
            let now = js_sys::Date::now();
            if now - last_report > 100.0 {
                last_report = now;
                report(*progress);
            }
        }
        let descriptor = encoder.end_entry().map_err(|e| failed(e.to_string()))?;
        sink.write(&Uint8Array::from(descriptor.as_slice()))
            .await
            .map_err(closed)?;
    }
    let end = encoder.finish().map_err(|e| e.to_string())?;
    sink.write(&Uint8Array::from(end.as_slice()))
        .await
        .map_err(closed)
}

/// GETs `url` and returns a reader of its body, or why not.
async fn open(url: &str) -> Result<ReadableStreamDefaultReader, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_str(url))
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
