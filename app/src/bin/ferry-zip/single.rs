//! One file of an end-to-end encrypted link: the API counts the download and presigns its GET,
//! the stored bytes stream through the file's decryptor, and the plaintext goes to the download
//! worker as a file under its decrypted name (else to a picked file). A record that fails, a
//! cut file or a cancel makes the download fail: nothing is saved as if complete.

use ferry_api::PublicDownload;
use ferry_api::encryption::{EncryptedMeta, META_VERSION};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use crate::archive::{js_text, open};
use crate::decrypt::{Opener, plain_into, refused};
use crate::save::{self, Sink};
use crate::{Stop, http};

pub async fn download(
    token: &str,
    body: PublicDownload,
    meta: &str,
    opener: &Opener,
    cancel: &AbortSignal,
) -> Result<(), Stop> {
    let sealed = EncryptedMeta {
        meta: meta.to_owned(),
        version: META_VERSION,
    };
    let secrets = opener
        .secrets(&sealed)
        .await
        .map_err(|e| Stop::Said(refused("The file's name", &e)))?;
    let worker = if save::worker_possible() {
        Some(
            save::worker()
                .await
                .map_err(|e| Stop::because("The download could not be prepared", &e))?,
        )
    } else {
        None
    };
    let picked = match &worker {
        Some(_) => None,
        None if save::picker_possible() => Some(
            Sink::through_picker(&secrets.name)
                .await
                .map_err(|_| Stop::Said("No file was chosen to save to.".into()))?,
        ),
        None => {
            return Err(Stop::Said(
                "This browser cannot decrypt a download while it is saved. Open this link in \
                 a current Chrome, Edge or Firefox."
                    .into(),
            ));
        }
    };
    let link = match http::download(token, body).await {
        Ok(link) => link,
        Err(err) => {
            if let Some(sink) = picked {
                sink.abort("not started");
            }
            return Err(Stop::Api(err));
        }
    };
    let sink = match (worker, picked) {
        (_, Some(sink)) => sink,
        (Some(worker), None) => {
            Sink::through_worker_as(&worker, &secrets.name, secrets.size, "file")
                .await
                .map_err(|e| Stop::because("This browser cannot stream the download", &e))?
        }
        (None, None) => return Err(Stop::Said("No place to save the file.".into())),
    };
    match pump(&link.url, opener, &secrets, &sink, cancel).await {
        Ok(()) => sink
            .close()
            .await
            .map_err(|e| Stop::because("The file could not be finished", &e)),
        Err(reason) => {
            sink.abort(&reason);
            Err(Stop::Said(reason))
        }
    }
}

/// The stored bytes from `url`, decrypted into `sink`.
async fn pump(
    url: &str,
    opener: &Opener,
    secrets: &ferry_app::crypto::meta::FileSecrets,
    sink: &Sink,
    cancel: &AbortSignal,
) -> Result<(), String> {
    let name = secrets.name.as_str();
    let failed = |why: String| {
        if cancel.aborted() {
            "You cancelled the download.".to_owned()
        } else {
            format!("“{name}” could not be downloaded ({why}).")
        }
    };
    let stopped = |e: JsValue| {
        format!(
            "The download was stopped before it finished ({}).",
            js_text(&e)
        )
    };
    let mut stream = opener.file(secrets).await.map_err(|e| refused(name, &e))?;
    let reader = open(url, cancel).await.map_err(failed)?;
    let mut buffer = Vec::new();
    loop {
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
        let plain = match stream.push(&buffer).await {
            Ok(plain) => plain,
            Err(e) => {
                let _ = reader.cancel();
                return Err(refused(name, &e));
            }
        };
        if !plain.is_empty()
            && let Err(e) = sink.write(&plain_into(bytes, &plain)).await
        {
            let _ = reader.cancel();
            return Err(stopped(e));
        }
    }
    let last = stream.finish().await.map_err(|e| refused(name, &e))?;
    if !last.is_empty() {
        sink.write(&Uint8Array::from(last.as_slice()))
            .await
            .map_err(stopped)?;
    }
    Ok(())
}
