//! The hosted UI: the PKCE flow, codes bound to their redirect URI and client, the sign-in and
//! sign-up pages, discovery, JWKS and CORS, and forms posted from other sites. A child of `idp`,
//! so it uses the same `TestIdp`.

use super::*;

#[tokio::test]
async fn the_pkce_flow_gives_tokens_once_and_only_to_the_right_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email, PASSWORD).await.0, StatusCode::OK);
    let pkce = new_pkce();

    // The sign-in page keeps every OAuth parameter, escaped.
    let page = app
        .http
        .get(format!("{}/oauth2/authorize", app.base))
        .query(&app.authorize_params(&pkce))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>Sign in · Ferry</title>"));
    assert!(html.contains(&format!(
        "name=\"code_challenge\" value=\"{}\"",
        pkce.challenge
    )));
    assert!(html.contains("value=\"st&lt;at&gt;e 1\""));
    assert!(html.contains("href=\"/signup?"));
    assert!(!html.contains("st<at>e"));

    // A wrong verifier is refused, and the code is spent.
    let code = app.login_code(&pkce, &email, PASSWORD).await;
    let (status, body) = app.redeem(&code, &new_pkce().verifier).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
    let (status, _) = app.redeem(&code, &pkce.verifier).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The right verifier works once.
    let code = app.login_code(&pkce, &email, PASSWORD).await;
    let (status, tokens) = app.redeem(&code, &pkce.verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let (status, body) = app.redeem(&code, &pkce.verifier).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );

    let verifier = app.verifier();
    let access = tokens["access_token"].as_str().unwrap();
    let identity = verifier
        .verify(access)
        .await
        .expect("access token verifies");
    assert_eq!(identity.email.as_deref(), Some(email.as_str()));
    assert!(
        verifier
            .verify(tokens["id_token"].as_str().unwrap())
            .await
            .is_err()
    );

    // Refresh through the token endpoint and through the JSON API.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", refresh),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert!(refreshed.get("refresh_token").is_none());
    let again = verifier
        .verify(refreshed["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(again.user, identity.user);
    let (status, body) = app
        .cognito(
            "InitiateAuth",
            json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": CLIENT,
                   "AuthParameters": {"REFRESH_TOKEN": refresh}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["AuthenticationResult"]["AccessToken"].is_string());
    assert!(body["AuthenticationResult"].get("RefreshToken").is_none());
    let (status, _) = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "other"),
            ("refresh_token", refresh),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn codes_are_bound_to_the_redirect_uri_and_client() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email, PASSWORD).await.0, StatusCode::OK);
    let pkce = new_pkce();

    let code = app.login_code(&pkce, &email, PASSWORD).await;
    let other_uri = format!("{}/", app.base);
    let (status, body) = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT),
            ("code", &code),
            ("redirect_uri", &other_uri),
            ("code_verifier", &pkce.verifier),
        ])
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );

    let code = app.login_code(&pkce, &email, PASSWORD).await;
    let redirect_uri = app.redirect_uri();
    let (status, body) = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "someone-else"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &pkce.verifier),
        ])
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_client"}))
    );
    let (status, body) = app
        .token(&[("grant_type", "password"), ("client_id", CLIENT)])
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type"})
        )
    );
}

#[tokio::test]
async fn the_hosted_pages_sign_up_refuse_and_redirect_safely() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let pkce = new_pkce();
    let params = app.authorize_params(&pkce);

    let page = app
        .http
        .get(format!("{}/signup", app.base))
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<title>Create account · Ferry</title>")
    );

    let signup = |email: String, password: &'static str| {
        let mut form = params.clone();
        form.push(("email", email));
        form.push(("password", password.into()));
        app.http
            .post(format!("{}/signup", app.base))
            .form(&form)
            .send()
    };
    let weak = signup(unique_email(), "password").await.unwrap();
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    assert!(
        weak.text()
            .await
            .unwrap()
            .contains("at least 8 characters, including a letter and a digit")
    );

    let email = unique_email();
    let created = signup(email.clone(), PASSWORD).await.unwrap();
    assert_eq!(created.status(), StatusCode::FOUND);
    assert!(location(&created).starts_with(&format!("{}?code=", app.redirect_uri())));
    let code = reqwest::Url::parse(&location(&created))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert_eq!(app.redeem(&code, &pkce.verifier).await.0, StatusCode::OK);

    let duplicate = signup(email.clone(), PASSWORD).await.unwrap();
    assert_eq!(duplicate.status(), StatusCode::BAD_REQUEST);
    assert!(duplicate.text().await.unwrap().contains("already exists"));

    // Bad credentials re-show the form with the email kept and a message.
    let mut form = params.clone();
    form.push(("email", email.clone()));
    form.push(("password", "wrong password 1".into()));
    let refused = app
        .http
        .post(format!("{}/login", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Incorrect email or password.") && html.contains(&email));

    // Unknown redirect URIs get a page, never a redirect.
    let mut evil = params.clone();
    evil[2] = ("redirect_uri", "https://evil.example/cb".into());
    let response = app
        .http
        .get(format!("{}/oauth2/authorize", app.base))
        .query(&evil)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());

    // Without PKCE the client is told so at its redirect URI.
    let no_pkce: Vec<_> = params
        .iter()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let response = app
        .http
        .get(format!("{}/oauth2/authorize", app.base))
        .query(&no_pkce)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).contains("error=invalid_request"));

    // Logout only goes back to allowed URIs.
    let back = format!("{}/", app.base);
    let out = app
        .http
        .get(format!("{}/logout", app.base))
        .query(&[("client_id", CLIENT), ("logout_uri", &back)])
        .send()
        .await
        .unwrap();
    assert_eq!((out.status(), location(&out)), (StatusCode::FOUND, back));
    let out = app
        .http
        .get(format!("{}/logout", app.base))
        .query(&[
            ("client_id", CLIENT),
            ("logout_uri", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn discovery_jwks_and_cors_for_browser_callers() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let config: Value = app
        .http
        .get(format!("{}/.well-known/openid-configuration", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["issuer"], app.base);
    assert_eq!(
        config["token_endpoint"],
        format!("{}/oauth2/token", app.base)
    );
    assert_eq!(config["code_challenge_methods_supported"], json!(["S256"]));
    let jwks: Value = app
        .http
        .get(config["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks, app.idp.jwks());
    assert_eq!(jwks["keys"][0]["alg"], "RS256");

    let preflight = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/oauth2/token", app.base),
        )
        .header("origin", "http://127.0.0.1:8081")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let userinfo = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/oauth2/userInfo", app.base),
        )
        .header("origin", "http://127.0.0.1:8081")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    let allowed = userinfo
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok());
    assert_eq!(
        allowed.map(str::to_ascii_lowercase).as_deref(),
        Some("authorization")
    );
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
}

#[tokio::test]
async fn hosted_forms_posted_from_another_site_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let pkce = new_pkce();
    let email = unique_email();
    let form = app.login_form(&pkce, &email, PASSWORD);
    let own_origin = app.base.as_str();
    for path in ["/login", "/signup", "/confirm"] {
        for headers in [
            &[("origin", "https://evil.example")][..],
            &[("origin", "null")][..],
            &[("origin", "null"), ("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-site", "same-site")][..],
        ] {
            let response = app.post_form(path, &form, headers).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{path} {headers:?}"
            );
            assert!(response.headers().get("location").is_none());
        }
    }
    let created = app
        .post_form(
            "/signup",
            &form,
            &[("origin", own_origin), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::FOUND);
    let login = app
        .post_form("/login", &form, &[("origin", own_origin)])
        .await;
    assert_eq!(login.status(), StatusCode::FOUND);
    // A page under `Referrer-Policy: no-referrer` posts with `Origin: null`; the browser's
    // `Sec-Fetch-Site` still says where it came from.
    let login = app
        .post_form(
            "/login",
            &form,
            &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(login.status(), StatusCode::FOUND);
}
