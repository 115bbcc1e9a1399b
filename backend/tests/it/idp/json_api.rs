//! The Cognito JSON API: sign-up and sign-in give tokens the verifier accepts, errors in
//! Cognito's shape, unconfirmed users, what survives a restart, and minted tokens. A child of
//! `idp`, so it uses the same `TestIdp`.

use super::*;

#[tokio::test]
async fn json_api_sign_up_and_sign_in_give_access_tokens_the_verifier_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let email = unique_email();

    let (status, signed_up) = app.sign_up(&email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{signed_up}");
    assert_eq!(signed_up["UserConfirmed"], true);
    let sub = signed_up["UserSub"].as_str().unwrap().to_owned();
    // Confirming is harmless when sign-ups are confirmed automatically.
    let (status, _) = app
        .cognito(
            "ConfirmSignUp",
            json!({"ClientId": CLIENT, "Username": email, "ConfirmationCode": "000000"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, auth) = app.password_auth(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{auth}");
    let result = &auth["AuthenticationResult"];
    assert_eq!(result["TokenType"], "Bearer");
    assert_eq!(result["ExpiresIn"], 3600);
    let access = result["AccessToken"].as_str().unwrap();
    let id_token = result["IdToken"].as_str().unwrap();
    assert!(
        result["RefreshToken"]
            .as_str()
            .is_some_and(|t| t.len() >= 40)
    );

    let verifier = app.verifier();
    let identity = verifier
        .verify(access)
        .await
        .expect("access token verifies");
    assert_eq!(identity.user.as_str(), sub);
    assert_eq!(identity.email.as_deref(), Some(email.as_str()));
    assert!(
        matches!(verifier.verify(id_token).await, Err(AuthError::Invalid(_))),
        "ID tokens are not access tokens"
    );

    let (status, user) = app.cognito("GetUser", json!({"AccessToken": access})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["Username"], sub);

    let info: Value = app
        .http
        .get(format!("{}/oauth2/userInfo", app.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], sub);
    assert_eq!(info["email"], email);
    let response = app
        .http
        .get(format!("{}/oauth2/userInfo", app.base))
        .bearer_auth(id_token)
        .send()
        .await;
    assert_eq!(response.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn json_api_errors_have_cognitos_shape() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email, PASSWORD).await.0, StatusCode::OK);

    let error = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["message"].is_string(), "{body}");
        body["__type"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(
        error(app.sign_up(&email, PASSWORD).await),
        "UsernameExistsException"
    );
    assert_eq!(
        error(app.sign_up(&email.to_uppercase(), PASSWORD).await),
        "UsernameExistsException"
    );
    assert_eq!(
        error(app.sign_up(&unique_email(), "short1").await),
        "InvalidPasswordException"
    );
    assert_eq!(
        error(app.sign_up(&unique_email(), "nodigitshere").await),
        "InvalidPasswordException"
    );
    assert_eq!(
        error(app.sign_up("not-an-email", PASSWORD).await),
        "InvalidParameterException"
    );
    assert_eq!(
        error(app.password_auth(&email, "wrong password 1").await),
        "NotAuthorizedException"
    );
    assert_eq!(
        error(app.password_auth(&unique_email(), PASSWORD).await),
        "NotAuthorizedException"
    );
    let wrong_client = app
        .cognito(
            "InitiateAuth",
            json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "nope",
                   "AuthParameters": {"USERNAME": email, "PASSWORD": PASSWORD}}),
        )
        .await;
    assert_eq!(error(wrong_client), "ResourceNotFoundException");
    let srp = app
        .cognito(
            "InitiateAuth",
            json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": CLIENT, "AuthParameters": {}}),
        )
        .await;
    assert_eq!(error(srp), "InvalidParameterException");
    let missing = app
        .cognito("SignUp", json!({"ClientId": CLIENT, "Username": email}))
        .await;
    assert_eq!(error(missing), "InvalidParameterException");
    assert_eq!(
        error(app.cognito("AdminDeleteUser", json!({})).await),
        "UnknownOperationException"
    );
    let bad_refresh = app
        .cognito(
            "InitiateAuth",
            json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": CLIENT,
                   "AuthParameters": {"REFRESH_TOKEN": "made-up"}}),
        )
        .await;
    assert_eq!(error(bad_refresh), "NotAuthorizedException");
}

#[tokio::test]
async fn unconfirmed_users_cannot_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), false).await;
    let email = unique_email();
    let (status, signed_up) = app.sign_up(&email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(signed_up["UserConfirmed"], false);
    assert_eq!(signed_up["CodeDeliveryDetails"]["DeliveryMedium"], "EMAIL");

    let (status, body) = app.password_auth(&email, PASSWORD).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (StatusCode::BAD_REQUEST, Some("UserNotConfirmedException"))
    );
    // Six digits cannot be 'x'; the real code is only in the console.
    let (status, body) = app
        .cognito(
            "ConfirmSignUp",
            json!({"ClientId": CLIENT, "Username": email, "ConfirmationCode": "x"}),
        )
        .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (StatusCode::BAD_REQUEST, Some("CodeMismatchException"))
    );
}

#[tokio::test]
async fn users_keys_and_refresh_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let email = unique_email();
    let (_, signed_up) = app.sign_up(&email, PASSWORD).await;
    let (_, auth) = app.password_auth(&email, PASSWORD).await;
    let refresh = auth["AuthenticationResult"]["RefreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let jwks = app.idp.jwks();
    drop(app.stop().await);

    let app = spawn_idp(dir.path(), true).await;
    assert_eq!(app.idp.jwks(), jwks, "the signing key is kept");
    let (status, auth) = app.password_auth(&email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{auth}");
    let access = auth["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap();
    let identity = app.verifier().verify(access).await.unwrap();
    assert_eq!(Some(identity.user.as_str()), signed_up["UserSub"].as_str());
    let (status, _) = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn minted_tokens_exercise_the_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "sub": "3f1c2a9e-1111-4222-8333-944455556666", "iss": app.base, "client_id": CLIENT,
        "token_use": "access", "exp": now + 60, "iat": now,
    });
    let verifier = app.verifier();
    assert!(
        verifier
            .verify(&app.idp.sign_claims(&claims).unwrap())
            .await
            .is_ok()
    );
    let mut expired = claims.clone();
    expired["exp"] = json!(now - 3600);
    assert!(matches!(
        verifier
            .verify(&app.idp.sign_claims(&expired).unwrap())
            .await,
        Err(AuthError::Expired)
    ));
}
