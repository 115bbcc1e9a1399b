//! Sealed parts sent by the worker that holds them, against wasm-bindgen-test-runner's own HTTP
//! server (the page's origin, which the worker shares): it answers any method on the files it
//! serves (`run.js` among them) with 200 and an `ETag`, 304 when `If-None-Match` names that ETag,
//! and 404 for a path it has no file for. The same reports as the page's own sends, through the
//! same helpers (`crate::transfer`'s browser tests). URLs are absolute, as presigned ones are: the runner
//! starts workers from `blob:` copies of their scripts, against which a path means nothing.

use std::cell::Cell;
use std::rc::Rc;

use ferry_api::Header;
use js_sys::{Array, Uint8Array};
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::Blob;

use super::SealedPart;
use crate::crypto::link::TransferKey;
use crate::crypto::sealing::SealedFile;
use crate::transfer::browser_tests::{Report, SERVED, header, reported, served_etag};

/// `path` on the test server.
fn at(path: &str) -> String {
    let origin = web_sys::window().unwrap().location().origin().unwrap();
    format!("{origin}{path}")
}

/// A file of `len` bytes sealed whole: its one part, as a worker holds it, and its size.
async fn sealed(len: usize) -> (SealedPart, u64) {
    let plain = Uint8Array::from(&vec![7u8; len][..]);
    let blob = Blob::new_with_u8_array_sequence(&Array::of1(&plain)).unwrap();
    let key = TransferKey::generate().unwrap();
    let file = SealedFile::new(&key, "f.bin", None, "application/x-test", len as u64)
        .await
        .unwrap();
    let (part, _) = file
        .part_with_checksum(&blob, 0, file.cipher_size)
        .await
        .unwrap();
    (part, file.cipher_size)
}

/// Sends `part` from its worker and waits for the completion it reports.
async fn send(part: &SealedPart, url: &str, headers: &[Header]) -> Report {
    reported(|progress, done| part.send("PUT", url, headers, progress, done)).await
}

#[wasm_bindgen_test]
async fn a_sealed_part_is_sent_whole_by_its_worker_and_reports_the_etag() {
    let (part, len) = sealed(300_000).await;
    let report = send(&part, &at(SERVED), &[]).await;
    assert_eq!(report.outcome, Ok(Some(served_etag().await)));
    assert_eq!(report.progress.last(), Some(&len), "{:?}", report.progress);
    assert!(report.progress.windows(2).all(|w| w[0] <= w[1]));
    // Still held after a send: a retry sends the same bytes again.
    let again = send(&part, &at(SERVED), &[]).await;
    assert!(again.outcome.is_ok());
}

#[wasm_bindgen_test]
async fn a_refusal_and_a_failed_connection_report_their_status() {
    let (part, _) = sealed(10).await;
    assert_eq!(
        send(&part, &at("/no-such-object"), &[]).await.outcome,
        Err(404)
    );
    // Port 1 is one browsers never connect to.
    let unreachable = send(&part, "http://127.0.0.1:1/bucket/key", &[]).await;
    assert_eq!(unreachable.outcome, Err(0));
}

#[wasm_bindgen_test]
async fn signed_headers_are_sent_as_given_and_browser_owned_ones_left_out() {
    let (part, _) = sealed(10).await;
    let etag = served_etag().await;
    let headers = [
        header("Content-Length", "1"),
        header("Host", "example.com"),
        header("If-None-Match", &etag),
    ];
    // The server saw our condition: it answers "not modified" instead of storing.
    assert_eq!(send(&part, &at(SERVED), &headers).await.outcome, Err(304));
}

#[wasm_bindgen_test]
async fn an_aborted_send_reports_nothing_and_the_part_can_be_sent_again() {
    let (part, _) = sealed(200_000).await;
    let completed = Rc::new(Cell::new(false));
    let sending = part
        .send("PUT", &at(SERVED), &[], |_| {}, {
            let completed = completed.clone();
            move |_| completed.set(true)
        })
        .expect("the worker takes the request");
    sending.abort();
    // The worker answers in order: a send asked after the abort ends after it.
    let later = send(&part, &at(SERVED), &[]).await;
    assert!(later.outcome.is_ok());
    assert!(!completed.get());
}

#[wasm_bindgen_test]
async fn a_send_goes_on_when_its_part_is_let_go_of_and_the_part_is_then_forgotten() {
    let (part, len) = sealed(200_000).await;
    let (pool, worker, number) = (part.pool.clone(), part.worker, part.part);
    let report = reported(move |progress, done| {
        let sending = part.send("PUT", &at(SERVED), &[], progress, done);
        drop(part);
        sending
    })
    .await;
    assert!(report.outcome.is_ok(), "{:?}", report.outcome);
    assert_eq!(report.progress.last(), Some(&len));
    // The worker has forgotten the part: a handle to its number finds nothing to send.
    let forgotten = SealedPart {
        pool,
        worker,
        part: number,
    };
    assert!(forgotten.blob().await.is_err());
    assert_eq!(send(&forgotten, &at(SERVED), &[]).await.outcome, Err(0));
}

#[wasm_bindgen_test]
async fn a_plain_range_hashed_in_a_worker_is_the_sha256_of_exactly_its_bytes() {
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let blob =
        Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::from(&bytes[..]))).unwrap();
    for (start, end) in [(0, 300_000), (1_000, 200_001), (7, 7)] {
        let digest = super::hash(&blob, start, end).await.unwrap();
        let expected = crate::checksum::sha256_digest(&bytes[start as usize..end as usize])
            .await
            .unwrap();
        assert_eq!(digest, expected, "{start}..{end}");
    }
    // A range past the end of the file (it shrank since it was picked) is an error.
    assert!(super::hash(&blob, 200_000, 400_000).await.is_err());
}
