//! The recipients' list in a real DOM: a sealed thumbnail opened with the link's key takes its
//! icon's place and is drawn; a tampered one, or one of another key, keeps its icon; a list
//! drawn anew shows what was opened without fetching it again.

use ferry_api::encryption::EncryptedMeta;
use ferry_api::{FileStatus, PublicFile};
use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{Element, MutationObserver, MutationObserverInit};

use super::super::link::TransferKey;
use super::super::thumbnail;
use super::super::webcrypto::WebCrypto;
use super::{SEALED, show};
use crate::public_transfer::list_markup;

/// A 3 × 2 red PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0x12, 0x16, 0xf1,
    0x4d, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x38, 0xa1, 0xa1, 0x01,
    0x41, 0x0c, 0x70, 0x16, 0x00, 0x45, 0x74, 0x06, 0x91, 0xf1, 0x31, 0xfd, 0x24, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn global(name: &str) -> JsValue {
    Reflect::get(&js_sys::global(), &name.into()).unwrap()
}

/// A `blob:` URL of `bytes`, standing for a presigned GET of stored sealed bytes.
fn stored(bytes: &[u8]) -> String {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap();
    let url = global("URL");
    let create: Function = Reflect::get(&url, &"createObjectURL".into())
        .unwrap()
        .unchecked_into();
    create.call1(&url, &blob).unwrap().as_string().unwrap()
}

fn revoke(blob_url: &str) {
    let url = global("URL");
    let revoke: Function = Reflect::get(&url, &"revokeObjectURL".into())
        .unwrap()
        .unchecked_into();
    revoke.call1(&url, &blob_url.into()).unwrap();
}

fn encrypted_image(name: &str, thumbnail_url: String) -> PublicFile {
    PublicFile {
        id: name.into(),
        name: name.into(),
        folder: None,
        size: 1000,
        content_type: "image/png".into(),
        status: FileStatus::Ready,
        sha256: None,
        part_size: None,
        thumbnail_url: Some(thumbnail_url),
        encrypted: Some(EncryptedMeta {
            meta: "bWV0YQ".into(),
            version: 1,
        }),
    }
}

/// Waits, change by change in the list, until no icon holds a sealed URL any more.
async fn settled(list: &Element) {
    let selector = format!("[{SEALED}]");
    while list.query_selector(&selector).unwrap().is_some() {
        let changed = Promise::new(&mut |resolve, _| {
            let seen = Closure::<dyn FnMut(Array, MutationObserver)>::new(
                move |_, observer: MutationObserver| {
                    observer.disconnect();
                    let _ = resolve.call0(&JsValue::NULL);
                },
            );
            let observer = MutationObserver::new(seen.as_ref().unchecked_ref()).unwrap();
            seen.forget();
            let options = MutationObserverInit::new();
            options.set_child_list(true);
            options.set_subtree(true);
            options.set_attributes(true);
            observer.observe_with_options(list, &options).unwrap();
        });
        JsFuture::from(changed).await.unwrap();
    }
}

fn row(list: &Element, i: usize) -> Element {
    list.query_selector(&format!("li[data-i=\"{i}\"]"))
        .unwrap()
        .unwrap()
}

/// The row's image once decoded: its `src` and natural width.
async fn drawn(list: &Element, i: usize) -> (String, u32) {
    let img = row(list, i).query_selector("img.thumb").unwrap().unwrap();
    let decode: Function = Reflect::get(&img, &"decode".into())
        .unwrap()
        .unchecked_into();
    let decoding: Promise = decode.call0(&img).unwrap().unchecked_into();
    JsFuture::from(decoding).await.unwrap();
    let width = Reflect::get(&img, &"naturalWidth".into()).unwrap();
    (
        img.get_attribute("src").unwrap(),
        width.as_f64().unwrap() as u32,
    )
}

fn keeps_its_icon(list: &Element, i: usize) {
    let row = row(list, i);
    assert!(row.query_selector("img").unwrap().is_none(), "row {i}");
    let icon = row.query_selector("span.thumb.badge").unwrap().unwrap();
    assert_eq!(icon.text_content().as_deref(), Some("PNG"));
    assert!(!icon.has_attribute(SEALED), "row {i} is not tried again");
}

#[wasm_bindgen_test]
async fn sealed_thumbnails_in_view_are_drawn_and_those_that_do_not_open_keep_their_icon() {
    let web = WebCrypto::new().unwrap();
    let key = TransferKey::from_bytes([5; 32]);
    let sealed = thumbnail::seal(&web, &key, [1; 16], PNG).await.unwrap();
    let mut flipped = sealed.clone();
    *flipped.last_mut().unwrap() ^= 1;
    let other = TransferKey::from_bytes([6; 32]);
    let foreign = thumbnail::seal(&web, &other, [2; 16], PNG).await.unwrap();
    let good = stored(&sealed);
    let files = [
        encrypted_image("a.png", good.clone()),
        encrypted_image("b.png", stored(&flipped)),
        encrypted_image("c.png", stored(&foreign)),
    ];

    let document = web_sys::window().unwrap().document().unwrap();
    let list = document.create_element("div").unwrap();
    list.set_inner_html(&list_markup(&files));
    let body = document.body().unwrap();
    body.insert_before(&list, body.first_child().as_ref())
        .unwrap();
    show(&list, key).unwrap();
    settled(&list).await;

    let (src, width) = drawn(&list, 0).await;
    assert!(src.starts_with("blob:") && src != good, "{src}");
    assert_eq!(width, 3);
    keeps_its_icon(&list, 1);
    keeps_its_icon(&list, 2);

    // The list drawn anew (files arriving): the opened image shows again, though its sealed
    // copy can no longer be fetched, and the others are not tried again.
    revoke(&good);
    list.set_inner_html(&list_markup(&files));
    settled(&list).await;
    assert_eq!(drawn(&list, 0).await, (src, 3));
    keeps_its_icon(&list, 1);
    keeps_its_icon(&list, 2);
    list.remove();
}
