//! What every route shares: bearer tokens, other users' things looking like nothing, health,
//! unknown routes, body limits and the OpenAPI document. A child of `api`, so it uses the same
//! `TestApi`.

use super::*;

#[tokio::test]
async fn private_routes_refuse_missing_and_bad_tokens() {
    let api = spawn_api().await;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut expired = api.claims(ALICE);
    expired["exp"] = json!(now - 600);
    expired["iat"] = json!(now - 4200);
    let mut wrong_issuer = api.claims(ALICE);
    wrong_issuer["iss"] = json!("http://evil.test");
    let mut wrong_client = api.claims(ALICE);
    wrong_client["client_id"] = json!("other-client");
    let mut id_token = api.claims(ALICE);
    id_token["token_use"] = json!("id");
    id_token["aud"] = json!(CLIENT);

    let good = api.token(ALICE);
    let mut bad_signature = good.clone();
    let last = bad_signature.pop().unwrap();
    bad_signature.push(if last == 'A' { 'B' } else { 'A' });
    let alg_none = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
        let payload = b64.encode(api.claims(ALICE).to_string());
        format!("{header}.{payload}.")
    };

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("garbage", Some("not-a-jwt".into())),
        ("expired", Some(api.token_with(expired))),
        ("bad signature", Some(bad_signature)),
        ("alg none", Some(alg_none)),
        ("wrong issuer", Some(api.token_with(wrong_issuer))),
        ("wrong client", Some(api.token_with(wrong_client))),
        ("id token", Some(api.token_with(id_token))),
    ];
    let routes = [
        (Method::GET, "/api/files"),
        (Method::POST, "/api/uploads"),
        (Method::POST, "/api/uploads/multipart"),
        (
            Method::GET,
            "/api/files/00000000-0000-7000-8000-000000000000/parts",
        ),
        (
            Method::POST,
            "/api/files/00000000-0000-7000-8000-000000000000/complete",
        ),
        (Method::GET, "/api/shares"),
        (
            Method::DELETE,
            "/api/files/00000000-0000-7000-8000-000000000000",
        ),
    ];
    for (case, token) in &cases {
        for (method, uri) in &routes {
            let body = (*method == Method::POST).then(|| json!({"name": "a", "size": 1}));
            let reply = api.send(method.clone(), uri, token.as_deref(), body).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{case}: {method} {uri}"
            );
            assert_eq!(reply.code(), "unauthorized", "{case}");
            assert!(
                reply.body.get("items").is_none(),
                "{case}: no data on refusal"
            );
            assert_eq!(reply.headers["www-authenticate"], "Bearer");
        }
    }
    assert_eq!(
        api.send(Method::GET, "/api/files", Some(&good), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn other_users_files_and_shares_are_not_found() {
    let api = spawn_api().await;
    let file = api.ready_file(ALICE, "secret.txt", 10).await;
    let token = api.share(ALICE, &file, json!({})).await;

    for (method, uri, body) in [
        (Method::GET, format!("/api/files/{file}"), None),
        (Method::GET, format!("/api/files/{file}/download"), None),
        (Method::DELETE, format!("/api/files/{file}"), None),
        (
            Method::POST,
            format!("/api/files/{file}/shares"),
            Some(json!({})),
        ),
        (Method::DELETE, format!("/api/shares/{token}"), None),
        (Method::GET, format!("/api/files/{file}/parts"), None),
        (
            Method::POST,
            format!("/api/files/{file}/parts"),
            Some(json!({"parts": [{"number": 1, "sha256": "x"}]})),
        ),
        (
            Method::POST,
            format!("/api/files/{file}/complete"),
            Some(json!({"parts": []})),
        ),
    ] {
        let reply = api.as_user(BOB, method.clone(), &uri, body).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {uri}");
        assert_eq!(reply.code(), "not_found");
    }
    let listing = api.as_user(BOB, Method::GET, "/api/files", None).await;
    assert_eq!(listing.body["items"], json!([]));
    let shares = api.as_user(BOB, Method::GET, "/api/shares", None).await;
    assert_eq!(shares.body["items"], json!([]));
    // Alice still has everything.
    let mine = api
        .as_user(ALICE, Method::GET, &format!("/api/files/{file}"), None)
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.body["name"], "secret.txt");
}

#[tokio::test]
async fn health_openapi_and_unknown_routes_answer_json() {
    let api = spawn_api().await;
    let health = api.send(Method::GET, "/api/health", None, None).await;
    assert_eq!(health.body["status"], "ok");
    let doc = api.send(Method::GET, "/api/openapi.json", None, None).await;
    for path in [
        "/api/uploads",
        "/api/uploads/multipart",
        "/api/files/{id}/parts",
        "/api/files/{id}/complete",
        "/api/files",
        "/api/files/{id}",
        "/api/files/{id}/download",
        "/api/files/{id}/shares",
        "/api/shares",
        "/api/shares/{token}",
        "/api/public/shares/{token}",
        "/api/public/shares/{token}/download",
        "/api/health",
    ] {
        assert!(
            doc.body["paths"].get(path).is_some(),
            "openapi lacks {path}"
        );
    }
    let missing = api.send(Method::GET, "/api/nope", None, None).await;
    assert_eq!(
        (missing.status, missing.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let method = api.send(Method::PUT, "/api/health", None, None).await;
    assert_eq!(
        (method.status, method.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let bad_json = {
        let req = Request::post("/api/uploads")
            .header("authorization", format!("Bearer {}", api.token(ALICE)))
            .header("content-type", "application/json")
            .body(Body::from("{not json"))
            .unwrap();
        api.router.clone().oneshot(req).await.unwrap()
    };
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_and_malformed_ones_400() {
    let api = spawn_api().await;
    let token = api.token(ALICE);
    let file = api.ready_file(ALICE, "a.txt", 10).await;
    let share = api.share(ALICE, &file, json!({})).await;
    let padding = "x".repeat(65 * 1024);
    let big = json!({"name": padding, "size": 1}).to_string();
    let cases = [
        (Method::POST, "/api/uploads".to_owned()),
        (Method::POST, "/api/uploads/multipart".to_owned()),
        (Method::POST, format!("/api/files/{file}/shares")),
        (Method::POST, format!("/api/public/shares/{share}/download")),
    ];
    for (method, uri) in cases {
        for (body, status, code) in [
            (
                big.clone(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
            (
                "{not json".to_owned(),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
        ] {
            let req = Request::builder()
                .method(method.clone())
                .uri(&uri)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap();
            let res = api.router.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), status, "{method} {uri}");
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            let reply: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(reply["error"]["code"], code, "{method} {uri}: {reply}");
        }
    }
}

#[tokio::test]
async fn the_openapi_document_describes_what_the_server_enforces() {
    let api = spawn_api().await;
    let doc = api
        .send(Method::GET, "/api/openapi.json", None, None)
        .await
        .body;
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // Pagination: optional query parameters, limit 1..=100.
    let params = doc["paths"]["/api/files"]["get"]["parameters"]
        .as_array()
        .unwrap();
    for name in ["limit", "cursor"] {
        let p = params.iter().find(|p| p["name"] == name).unwrap();
        assert_eq!(p["in"], "query", "{name}");
        assert_ne!(p["required"], true, "{name}");
    }
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 100);

    // Every operation: its path parameters, its answers; 401 when it needs a token, 400 and 413
    // when it reads a body.
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}"
            );
            let has = |status: &str| responses.contains_key(status);
            if op.get("security").is_some() {
                assert!(has("401"), "{method} {path} lacks 401");
            }
            if op.get("requestBody").is_some() {
                assert!(has("400") && has("413"), "{method} {path} lacks 400/413");
            }
            for name in path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            {
                let documented = op["parameters"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true)
                });
                assert!(documented, "{method} {path} lacks path parameter {name}");
            }
        }
    }
    assert!(operations >= 15, "{operations}");
    for action in ["download", "unlock"] {
        let responses =
            &doc["paths"][format!("/api/public/shares/{{token}}/{action}")]["post"]["responses"];
        for status in ["400", "413", "503"] {
            assert!(responses.get(status).is_some(), "{action} lacks {status}");
        }
    }
    assert!(
        doc["paths"]["/api/files/{id}/shares"]["post"]["responses"]
            .get("503")
            .is_some()
    );

    // The limits the server checks.
    let schemas = &doc["components"]["schemas"];
    let upload = &schemas["CreateUpload"]["properties"];
    assert_eq!(upload["name"]["maxLength"], 255);
    assert_eq!(upload["name"]["minLength"], 1);
    let share = &schemas["CreateShare"]["properties"];
    assert_eq!(share["expires_in_seconds"]["minimum"], 60);
    assert_eq!(share["max_downloads"]["minimum"], 1);
    assert_eq!(share["max_downloads"]["maximum"], 10000);
    assert_eq!(share["password"]["minLength"], 8);
    assert_eq!(share["password"]["maxLength"], 128);
    let parts = &schemas["PartUrlsRequest"]["properties"]["parts"];
    assert_eq!(
        (parts["minItems"].clone(), parts["maxItems"].clone()),
        (json!(1), json!(100))
    );
}
