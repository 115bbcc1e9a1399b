//! What a drop or a picker brings in, read from the browser: dropped folders walked through
//! their directory entries (which hand out their contents a page at a time), and a picked
//! folder's files with their `webkitRelativePath`.
//!
//! web-sys has no bindings for the (non-standard but universal) entry API, so the few calls
//! used are declared here.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DataTransfer, FileList};

use crate::upload::Incoming;

#[wasm_bindgen]
extern "C" {
    /// `FileSystemEntry` (a file or a directory).
    type Entry;
    #[wasm_bindgen(method, getter, js_name = isDirectory)]
    fn is_directory(this: &Entry) -> bool;
    #[wasm_bindgen(method, getter, js_name = isFile)]
    fn is_file(this: &Entry) -> bool;
    /// `/Fotos/2026/img.jpg`: the path from the dropped item down.
    #[wasm_bindgen(method, getter, js_name = fullPath)]
    fn full_path(this: &Entry) -> String;
    #[wasm_bindgen(method, js_name = file)]
    fn file(this: &Entry, ok: &Function, err: &Function);
    #[wasm_bindgen(method, js_name = createReader)]
    fn create_reader(this: &Entry) -> Reader;

    /// `FileSystemDirectoryReader`.
    type Reader;
    #[wasm_bindgen(method, js_name = readEntries)]
    fn read_entries(this: &Reader, ok: &Function, err: &Function);

    /// `DataTransferItem`, for `webkitGetAsEntry`.
    type Item;
    #[wasm_bindgen(method, catch, js_name = webkitGetAsEntry)]
    fn webkit_get_as_entry(this: &Item) -> Result<Option<Entry>, JsValue>;

    /// `File`, for `webkitRelativePath`.
    type PickedFile;
    #[wasm_bindgen(method, getter, js_name = webkitRelativePath)]
    fn webkit_relative_path(this: &PickedFile) -> Option<String>;
}

/// What a drop brought, once read.
pub struct Dropped {
    pub files: Vec<Incoming>,
    /// Files inside dropped folders that could not be read (gone, or not allowed).
    pub unreadable: usize,
}

/// Files of a list as they are (picked one by one, pasted, dropped without folders).
pub fn loose_files(list: Option<FileList>) -> Vec<Incoming> {
    list.map(|list| {
        (0..list.length())
            .filter_map(|i| list.get(i))
            .map(|file| Incoming {
                file,
                path: String::new(),
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Files of a `webkitdirectory` picker, each with its path inside the picked folder.
pub fn picked_folder(list: Option<FileList>) -> Vec<Incoming> {
    loose_files(list)
        .into_iter()
        .map(|Incoming { file, .. }| {
            let path = file
                .unchecked_ref::<PickedFile>()
                .webkit_relative_path()
                .unwrap_or_default();
            Incoming { file, path }
        })
        .collect()
}

/// The entries of a drop, taken while the drop event runs (its data is gone afterwards);
/// `None` when no folder was dropped, so the plain file list serves.
pub fn folder_entries(dt: &DataTransfer) -> Option<Vec<JsValue>> {
    let items = dt.items();
    let mut entries = Vec::new();
    for i in 0..items.length() {
        let Some(item) = items.get(i) else { continue };
        if item.kind() != "file" {
            continue;
        }
        if let Ok(Some(entry)) = item.unchecked_ref::<Item>().webkit_get_as_entry() {
            entries.push(entry);
        }
    }
    entries
        .iter()
        .any(|e| e.is_directory())
        .then(|| entries.into_iter().map(JsValue::from).collect())
}

/// Calls `start(resolve, reject)` and waits for it to answer.
async fn callback(start: impl FnOnce(&Function, &Function)) -> Result<JsValue, JsValue> {
    let mut start = Some(start);
    let promise = Promise::new(&mut |resolve, reject| {
        if let Some(start) = start.take() {
            start(&resolve, &reject);
        }
    });
    JsFuture::from(promise).await
}

/// Reads every file below the dropped entries, with paths relative to what was dropped
/// (`Fotos/2026/img.jpg`), sorted by path. Empty folders add nothing.
pub async fn read_entries(entries: Vec<JsValue>) -> Dropped {
    let mut stack: Vec<Entry> = entries.into_iter().map(JsCast::unchecked_into).collect();
    let mut dropped = Dropped {
        files: Vec::new(),
        unreadable: 0,
    };
    while let Some(entry) = stack.pop() {
        if entry.is_directory() {
            let reader = entry.create_reader();
            // Each call hands out the next page (Chromium: 100 entries); an empty one ends it.
            loop {
                let Ok(page) = callback(|ok, err| reader.read_entries(ok, err)).await else {
                    dropped.unreadable += 1;
                    break;
                };
                let page = Array::from(&page);
                if page.length() == 0 {
                    break;
                }
                stack.extend(page.iter().map(JsCast::unchecked_into::<Entry>));
            }
        } else if entry.is_file() {
            match callback(|ok, err| entry.file(ok, err)).await {
                Ok(file) => dropped.files.push(Incoming {
                    file: file.unchecked_into(),
                    path: entry.full_path().trim_start_matches('/').to_owned(),
                }),
                Err(_) => dropped.unreadable += 1,
            }
        }
    }
    dropped.files.sort_by(|a, b| a.path.cmp(&b.path));
    dropped
}
