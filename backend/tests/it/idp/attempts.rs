//! Password attempts: a full hashing gate turns sign-ins away, one verification per failure,
//! lockouts like Cognito's (also under concurrency), and confirmation codes that die after five
//! wrong guesses. A child of `idp`, so it uses the same `TestIdp`.

use super::*;

#[tokio::test]
async fn a_full_password_gate_turns_sign_ins_away_without_hashing() {
    let dir = tempfile::tempdir().unwrap();
    // One slot, nobody may wait: the test takes the slot, so every sign-in finds the gate full.
    let gate = Arc::new(WorkGate::new(1, 0));
    let shared = IdpShared {
        password_work: Arc::clone(&gate),
        ..IdpShared::default()
    };
    let app = spawn_idp_with(dir.path(), true, shared).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email, PASSWORD).await.0, StatusCode::OK);
    let before = app.idp.password_verifications();
    let held = gate.enter().await.unwrap();

    let pkce = new_pkce();
    let app_ref = &app;
    let json_attempts = (0..24).map(|i| {
        let password = format!("wrong password {i}");
        let email = email.clone();
        async move { app_ref.password_auth(&email, &password).await }
    });
    let page_attempts = (0..24).map(|i| {
        let form = app_ref.login_form(&pkce, &unique_email(), &format!("wrong password {i}"));
        async move { app_ref.post_form("/login", &form, &[]).await }
    });
    let (json, pages) = tokio::join!(
        futures::future::join_all(json_attempts),
        futures::future::join_all(page_attempts)
    );
    for (status, body) in json {
        // Cognito throttles with a 400 and `TooManyRequestsException`.
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["__type"], "TooManyRequestsException");
    }
    for page in pages {
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(page.headers().get("retry-after").is_some());
        assert!(page.text().await.unwrap().contains("try again in a moment"));
    }
    let (status, body) = app.sign_up(&unique_email(), PASSWORD).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (StatusCode::BAD_REQUEST, Some("TooManyRequestsException"))
    );
    let mut form = app.authorize_params(&pkce);
    form.push(("email", unique_email()));
    form.push(("password", PASSWORD.into()));
    let signup = app.post_form("/signup", &form, &[]).await;
    assert_eq!(signup.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.idp.password_verifications(),
        before,
        "no argon2 work ran while the gate was full"
    );

    drop(held);
    let (status, body) = app.password_auth(&email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(gate.available(), 1, "every slot was given back");
}

#[tokio::test]
async fn every_failed_sign_in_costs_exactly_one_verification() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), true).await;
    let known = unique_email();
    assert_eq!(app.sign_up(&known, PASSWORD).await.0, StatusCode::OK);
    let unknown = unique_email();
    let too_long = format!("a1{}", "x".repeat(300));
    for (email, password) in [
        (known.as_str(), too_long.as_str()),
        (known.as_str(), "wrong password 1"),
        (unknown.as_str(), too_long.as_str()),
        (unknown.as_str(), "wrong password 1"),
        ("not an address", "wrong password 1"),
    ] {
        let before = app.idp.password_verifications();
        let (status, body) = app.password_auth(email, password).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (
                StatusCode::BAD_REQUEST,
                Some("Incorrect username or password.")
            ),
            "{email} / {} chars",
            password.len()
        );
        assert_eq!(
            app.idp.password_verifications() - before,
            1,
            "{email} / {} chars",
            password.len()
        );
    }
    let before = app.idp.password_verifications();
    assert_eq!(app.password_auth(&known, PASSWORD).await.0, StatusCode::OK);
    assert_eq!(app.idp.password_verifications() - before, 1);
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_an_address_like_cognito() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let app = spawn_idp_with(dir.path(), true, shared_with(&clock)).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email, PASSWORD).await.0, StatusCode::OK);
    let stranger = unique_email();
    for i in 0..5 {
        for who in [&email, &stranger] {
            let (_, body) = app.password_auth(who, &format!("wrong password {i}")).await;
            assert_eq!(body["message"], "Incorrect username or password.");
        }
    }
    // Locked for 2^(5-5) = 1 s: even the right password is refused, without hashing, and an
    // address with no account answers the same.
    let before = app.idp.password_verifications();
    for who in [&email, &stranger] {
        let (status, body) = app.password_auth(who, PASSWORD).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["__type"], "NotAuthorizedException");
        assert_eq!(body["message"], "Password attempts exceeded");
    }
    let pkce = new_pkce();
    let page = app
        .post_form("/login", &app.login_form(&pkce, &email, PASSWORD), &[])
        .await;
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Too many failed attempts")
    );
    assert_eq!(app.idp.password_verifications(), before);

    // The lock outlives a restart.
    drop(app.stop().await);
    let app = spawn_idp_with(dir.path(), true, shared_with(&clock)).await;
    let (_, body) = app.password_auth(&email, PASSWORD).await;
    assert_eq!(body["message"], "Password attempts exceeded");

    // After the second, one more failure locks for 2 s; then the right password works and
    // starts the count over.
    clock.advance(Duration::from_secs(1));
    let (_, body) = app.password_auth(&email, "wrong password 6").await;
    assert_eq!(body["message"], "Incorrect username or password.");
    clock.advance(Duration::from_millis(1999));
    let (_, body) = app.password_auth(&email, PASSWORD).await;
    assert_eq!(body["message"], "Password attempts exceeded");
    clock.advance(Duration::from_millis(1));
    assert_eq!(app.password_auth(&email, PASSWORD).await.0, StatusCode::OK);
    let (_, body) = app.password_auth(&email, "wrong password 7").await;
    assert_eq!(body["message"], "Incorrect username or password.");
    assert_eq!(app.password_auth(&email, PASSWORD).await.0, StatusCode::OK);

    // Fifteen quiet minutes forget the stranger's failures too.
    clock.advance(Duration::from_secs(15 * 60));
    let (_, body) = app.password_auth(&stranger, PASSWORD).await;
    assert_eq!(body["message"], "Incorrect username or password.");
}

#[tokio::test]
async fn concurrent_wrong_passwords_cannot_slip_past_the_lockout() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let shared = IdpShared {
        // Room for every guess in the line, so none is turned away as busy.
        password_work: Arc::new(WorkGate::new(2, 64)),
        ..shared_with(&clock)
    };
    let app = spawn_idp_with(dir.path(), true, shared).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email, PASSWORD).await.0, StatusCode::OK);
    let before = app.idp.password_verifications();
    let (app_ref, email_ref) = (&app, &email);
    let guesses = (0..16).map(|i| async move {
        app_ref
            .password_auth(email_ref, &format!("wrong password {i}"))
            .await
    });
    let answers = futures::future::join_all(guesses).await;
    let exceeded = answers
        .iter()
        .filter(|(_, body)| body["message"] == "Password attempts exceeded")
        .count();
    // Each attempt is counted before its password is checked: five are, the rest wait.
    assert_eq!(exceeded, 11, "{answers:?}");
    assert_eq!(app.idp.password_verifications() - before, 5);
}

#[tokio::test]
async fn confirmation_codes_die_after_five_wrong_guesses() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_idp(dir.path(), false).await;
    let confirm = |email: &str| {
        app.cognito(
            "ConfirmSignUp",
            json!({"ClientId": CLIENT, "Username": email, "ConfirmationCode": "000000"}),
        )
    };
    // The code is random: find an account whose code is not 000000 (one in a million is).
    let email = loop {
        let email = unique_email();
        let (status, body) = app.sign_up(&email, PASSWORD).await;
        assert_eq!(
            (status, &body["UserConfirmed"]),
            (StatusCode::OK, &json!(false))
        );
        let (status, body) = confirm(&email).await;
        if status != StatusCode::OK {
            assert_eq!(body["__type"], "CodeMismatchException");
            break email;
        }
    };
    for _ in 1..5 {
        let (status, body) = confirm(&email).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["__type"], "CodeMismatchException");
    }
    // Five wrong guesses: the code is dead, whatever comes next.
    let (status, body) = confirm(&email).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["__type"], "ExpiredCodeException", "{body}");
    assert_eq!(
        body["message"],
        "Invalid code provided, please request a code again."
    );
}
