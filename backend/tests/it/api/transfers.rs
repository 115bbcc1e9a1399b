//! Router tests of transfers: folder paths on uploads, links of many files (`POST /api/shares`),
//! their public pages (`files`, `download` with `file_id`, `archive`) and batch deletes. A child
//! of `api`, so it uses the same `TestApi`.

use super::*;

/// Hostile or malformed folder paths, each refused with `invalid_path`.
const HOSTILE_FOLDERS: [&str; 9] = [
    "../x",
    "/abs",
    "a//b",
    "a/./b",
    "a/..",
    "a/",
    "a\\b",
    "a\u{FF0F}b",
    "a/b\u{7}",
];

#[tokio::test]
async fn uploads_keep_their_folder_and_refuse_hostile_paths() {
    let api = spawn_api().await;
    for route in ["/api/uploads", "/api/uploads/multipart"] {
        let reply = api
            .as_user(
                ALICE,
                Method::POST,
                route,
                Some(json!({"name": "img 1.jpg", "size": 10, "folder": "photos/re\u{301}sume\u{301}"})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{route}: {:?}",
            reply.body
        );
        assert_eq!(reply.body["file"]["folder"], "photos/résumé", "{route}");

        let deep = vec!["d"; 33].join("/");
        let long = vec!["x".repeat(200); 6].join("/");
        for folder in HOSTILE_FOLDERS
            .iter()
            .map(|f| (*f).to_owned())
            .chain([deep, long])
        {
            let reply = api
                .as_user(
                    ALICE,
                    Method::POST,
                    route,
                    Some(json!({"name": "a.txt", "size": 1, "folder": folder})),
                )
                .await;
            assert_eq!(
                (reply.status, reply.code()),
                (StatusCode::BAD_REQUEST, "invalid_path"),
                "{route} {folder:?}"
            );
        }
    }
    // The top level: no folder, or an empty one.
    let reply = api
        .as_user(
            ALICE,
            Method::POST,
            "/api/uploads",
            Some(json!({"name": "top.txt", "size": 1, "folder": ""})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(reply.body["file"].get("folder").is_none());

    let listed = api.as_user(ALICE, Method::GET, "/api/files", None).await;
    let folders: Vec<&Value> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["folder"])
        .collect();
    assert_eq!(
        folders,
        [
            &Value::Null,
            &json!("photos/résumé"),
            &json!("photos/résumé")
        ]
    );
}
