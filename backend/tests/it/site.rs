//! The site as `ferry serve` sends it: production's security headers (CSP, no framing, HSTS
//! only over HTTPS), precompressed assets, CloudFront's caching and SPA routing, robots.txt and
//! noindex share pages. Through `oneshot` on `site_app` with a site directory of its own.

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use ferry::site::{IMMUTABLE, REVALIDATE, SHORT, SitePolicy, content_security_policy, site_app};
use ferry_api::SiteConfig;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

const WASM: &str = "ferry-app-0123456789abcdef_bg.wasm";
const INDEX: &str = "<!doctype html><title>Ferry</title>";
const SHARE: &str = "<!doctype html><title>Shared file · Ferry</title>";
const LANDING: &str = "<!doctype html><title>Ferry</title><h1>Send big files</h1>";

struct Site {
    router: Router,
    policy: SitePolicy,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn config() -> SiteConfig {
    SiteConfig {
        api_base: "/api".into(),
        cognito_region: "us-east-1".into(),
        user_pool_id: "pool".into(),
        client_id: "client".into(),
        auth_base: "http://127.0.0.1:1".into(),
        redirect_uri: "http://127.0.0.1:1/callback".into(),
        logout_uri: "http://127.0.0.1:1/".into(),
        cognito_endpoint: None,
        multipart_threshold: None,
        max_share_files: None,
        live_url: None,
        encrypt_by_default: false,
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// A built site: index.html, share.html, landing.html, a hashed wasm with its brotli and gzip twins, a
/// favicon; and, when asked, robots.txt.
fn built_site(policy: SitePolicy, robots: bool) -> Site {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "index.html", INDEX.as_bytes());
    write(dir.path(), "share.html", SHARE.as_bytes());
    write(dir.path(), "share.html.br", b"brotli share page");
    write(dir.path(), "landing.html", LANDING.as_bytes());
    write(dir.path(), "landing.html.br", b"brotli landing page");
    write(dir.path(), WASM, b"raw wasm");
    write(dir.path(), &format!("{WASM}.br"), b"brotli wasm");
    write(dir.path(), &format!("{WASM}.gz"), b"gzip wasm");
    write(dir.path(), "favicon.svg", b"<svg/>");
    if robots {
        write(dir.path(), "robots.txt", b"User-agent: *\nDisallow: /s/\n");
    }
    let api = Router::new().route("/api/health", get(|| async { "ok" }));
    Site {
        router: site_app(api, config(), dir.path(), None, &policy),
        policy,
        _dir: dir,
    }
}

fn local_policy() -> SitePolicy {
    SitePolicy {
        files_origins: vec!["http://127.0.0.1:9000".into()],
        auth_origin: None,
        https: false,
    }
}

impl Site {
    async fn get(&self, uri: &str, accept_encoding: Option<&str>) -> Reply {
        let mut req = Request::get(uri);
        if let Some(encoding) = accept_encoding {
            req = req.header(header::ACCEPT_ENCODING, encoding);
        }
        let res = self
            .router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }
}

#[tokio::test]
async fn every_answer_carries_productions_security_headers() {
    let site = built_site(local_policy(), true);
    let csp = content_security_policy(&site.policy);
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(
        csp.contains("connect-src 'self' http://127.0.0.1:9000"),
        "{csp}"
    );
    for uri in [
        "/",
        "/files",
        "/s/abc",
        &format!("/{WASM}"),
        "/config.json",
        "/api/health",
    ] {
        let reply = site.get(uri, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        assert_eq!(
            reply.header(header::CONTENT_SECURITY_POLICY),
            Some(csp.as_str()),
            "{uri}"
        );
        assert_eq!(reply.header(header::X_FRAME_OPTIONS), Some("DENY"), "{uri}");
        assert_eq!(
            reply.header(header::X_CONTENT_TYPE_OPTIONS),
            Some("nosniff"),
            "{uri}"
        );
        assert_eq!(
            reply.header(header::REFERRER_POLICY),
            Some("strict-origin-when-cross-origin")
        );
        // Plain HTTP: browsers ignore HSTS there, and upgrading would break the S3 endpoint.
        assert_eq!(
            reply.header(header::STRICT_TRANSPORT_SECURITY),
            None,
            "{uri}"
        );
    }

    let behind_tls = built_site(
        SitePolicy {
            https: true,
            ..local_policy()
        },
        true,
    );
    let reply = behind_tls.get("/", None).await;
    assert_eq!(
        reply.header(header::STRICT_TRANSPORT_SECURITY),
        Some(ferry::site::HSTS)
    );
    assert!(
        reply
            .header(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .ends_with("upgrade-insecure-requests")
    );
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_entry_points_revalidate() {
    let site = built_site(local_policy(), true);
    let cases = [
        (format!("/{WASM}"), IMMUTABLE),
        ("/".to_owned(), REVALIDATE),
        ("/index.html".to_owned(), REVALIDATE),
        ("/files".to_owned(), REVALIDATE),
        ("/s/some-token".to_owned(), REVALIDATE),
        ("/config.json".to_owned(), REVALIDATE),
        ("/favicon.svg".to_owned(), SHORT),
        ("/robots.txt".to_owned(), SHORT),
    ];
    for (uri, cache) in cases {
        let reply = site.get(&uri, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        assert_eq!(reply.header(header::CACHE_CONTROL), Some(cache), "{uri}");
    }
    // Client-side routes get the app; a missing file is a 404 that no one keeps.
    assert_eq!(site.get("/files", None).await.body, INDEX.as_bytes());
    let missing = site.get("/ferry-app-fedcba9876543210.js", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_ne!(missing.body, INDEX.as_bytes());
    assert_eq!(missing.header(header::CACHE_CONTROL), Some(REVALIDATE));
}

#[tokio::test]
async fn precompressed_assets_go_to_clients_that_accept_them() {
    let site = built_site(local_policy(), true);
    let uri = format!("/{WASM}");
    let cases: [(Option<&str>, Option<&str>, &[u8]); 4] = [
        (Some("gzip, deflate, br, zstd"), Some("br"), b"brotli wasm"),
        (Some("gzip"), Some("gzip"), b"gzip wasm"),
        (Some("identity"), None, b"raw wasm"),
        (None, None, b"raw wasm"),
    ];
    for (accept, encoding, body) in cases {
        let reply = site.get(&uri, accept).await;
        assert_eq!(reply.status, StatusCode::OK, "{accept:?}");
        assert_eq!(
            reply.header(header::CONTENT_ENCODING),
            encoding,
            "{accept:?}"
        );
        assert_eq!(reply.body, body, "{accept:?}");
        assert_eq!(reply.header(header::CONTENT_TYPE), Some("application/wasm"));
        assert_eq!(reply.header(header::VARY), Some("accept-encoding"));
    }
}

#[tokio::test]
async fn robots_txt_is_never_the_app_and_share_pages_are_noindex() {
    let with_robots = built_site(local_policy(), true)
        .get("/robots.txt", None)
        .await;
    assert_eq!(with_robots.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&with_robots.body).contains("Disallow: /s/"));
    let without = built_site(local_policy(), false)
        .get("/robots.txt", None)
        .await;
    assert_eq!(without.status, StatusCode::NOT_FOUND);
    assert_ne!(without.body, INDEX.as_bytes());

    let site = built_site(local_policy(), true);
    let share = site.get("/s/AAAAAAAAAAAAAAAAAAAAAA", None).await;
    assert_eq!(share.header("x-robots-tag"), Some("noindex"));
    for uri in ["/", "/files"] {
        assert_eq!(
            site.get(uri, None).await.header("x-robots-tag"),
            None,
            "{uri}"
        );
    }
}

/// The real site build ships a robots.txt that keeps crawlers off share links.
#[test]
fn the_site_build_copies_a_robots_txt_that_disallows_share_links() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let index = std::fs::read_to_string(root.join("index.html")).unwrap();
    let copied = index
        .lines()
        .find(|l| l.contains("data-trunk") && l.contains("copy-file") && l.contains("robots.txt"))
        .expect("index.html copies robots.txt into the site");
    let href = copied
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let robots = std::fs::read_to_string(root.join(href)).unwrap();
    assert!(
        robots.lines().any(|l| l.trim() == "Disallow: /s/"),
        "{robots}"
    );
}

/// Share links get the recipients' own page, compressed and revalidated like index.html and
/// with the same security headers; every other client route still gets the app.
#[tokio::test]
async fn share_links_get_the_recipients_page() {
    let site = built_site(local_policy(), true);
    let share = site.get("/s/AAAAAAAAAAAAAAAAAAAAAA", None).await;
    assert_eq!(share.status, StatusCode::OK);
    assert_eq!(share.body, SHARE.as_bytes());
    assert_eq!(share.header(header::CACHE_CONTROL), Some(REVALIDATE));
    assert_eq!(share.header("x-robots-tag"), Some("noindex"));
    assert_eq!(
        share.header(header::CONTENT_SECURITY_POLICY),
        Some(content_security_policy(&site.policy).as_str())
    );
    let compressed = site.get("/s/AAAAAAAAAAAAAAAAAAAAAA", Some("br")).await;
    assert_eq!(compressed.header(header::CONTENT_ENCODING), Some("br"));
    assert_eq!(compressed.body, b"brotli share page");
    for uri in ["/files", "/links", "/callback", "/sx/y"] {
        assert_eq!(site.get(uri, None).await.body, INDEX.as_bytes(), "{uri}");
    }
    assert_eq!(site.get("/", None).await.body, LANDING.as_bytes());
    let page = site.get("/share.html", None).await;
    assert_eq!(page.header(header::CACHE_CONTROL), Some(REVALIDATE));
}

/// The site build makes both entries: the app from index.html and the recipients' page from
/// share.html, the app crate's `ferry-share` binary.
#[test]
fn the_site_build_makes_the_share_page_from_its_own_entry() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let share = std::fs::read_to_string(root.join("share.html")).unwrap();
    assert!(
        share.contains(r#"data-bin="ferry-share""#),
        "share.html builds ferry-share"
    );
    assert!(share.contains(r#"id="share-page""#));
    assert!(share.contains("Opening the link…"), "text before any wasm");
    let build = std::fs::read_to_string(root.join("infra/build-site.sh")).unwrap();
    assert!(
        build.contains("share.html --html-output share.html"),
        "{build}"
    );
    assert!(root.join("app/src/bin/ferry-share/main.rs").exists());
}

/// `/` gets the landing page's own small entry, compressed and revalidated like index.html and
/// with the same security headers; the app's routes still get the app.
#[tokio::test]
async fn the_landing_page_gets_its_own_entry() {
    let site = built_site(local_policy(), true);
    let landing = site.get("/", None).await;
    assert_eq!(landing.status, StatusCode::OK);
    assert_eq!(landing.body, LANDING.as_bytes());
    assert_eq!(landing.header(header::CACHE_CONTROL), Some(REVALIDATE));
    assert_eq!(
        landing.header("x-robots-tag"),
        None,
        "the landing page is for search engines"
    );
    assert_eq!(
        landing.header(header::CONTENT_SECURITY_POLICY),
        Some(content_security_policy(&site.policy).as_str())
    );
    let compressed = site.get("/", Some("br")).await;
    assert_eq!(compressed.header(header::CONTENT_ENCODING), Some("br"));
    assert_eq!(compressed.body, b"brotli landing page");
    for uri in ["/files", "/links", "/callback?code=x", "/no/such/page"] {
        assert_eq!(site.get(uri, None).await.body, INDEX.as_bytes(), "{uri}");
    }
    let page = site.get("/landing.html", None).await;
    assert_eq!(page.header(header::CACHE_CONTROL), Some(REVALIDATE));
}

/// The site build makes the landing page from its own entry (`landing.html`, the app crate's
/// `ferry-landing` binary), whose sign-in buttons work before any wasm: forms that open the
/// app at `/files`, which sends a visitor to sign in.
#[test]
fn the_site_build_makes_the_landing_page_from_its_own_entry() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let landing = std::fs::read_to_string(root.join("landing.html")).unwrap();
    assert!(landing.contains(r#"data-bin="ferry-landing""#));
    assert!(landing.contains("Send big files. Keep control of the link."));
    for id in ["sign-in-header", "sign-in-hero"] {
        assert!(
            landing.contains(&format!(
                r#"<form id="{id}" class="sign-in-form" action="/files" method="get">"#
            )),
            "{id}"
        );
    }
    let build = std::fs::read_to_string(root.join("infra/build-site.sh")).unwrap();
    assert!(
        build.contains("landing.html --html-output landing.html"),
        "{build}"
    );
    assert!(root.join("app/src/bin/ferry-landing/main.rs").exists());
}

/// The file requests' pages get the app's second entry (`requests.html`, the app crate's
/// `ferry-requests` binary), compressed and revalidated, noindex under `/r/`; the rest of the
/// app keeps `index.html`, and a site built before the split answers them with `index.html`.
#[tokio::test]
async fn file_requests_get_the_apps_second_entry() {
    const REQUESTS: &str = "<!doctype html><title>Ferry</title><!-- requests -->";
    let older = built_site(local_policy(), true);
    assert_eq!(older.get("/requests", None).await.body, INDEX.as_bytes());
    write(older._dir.path(), "requests.html", REQUESTS.as_bytes());
    write(
        older._dir.path(),
        "requests.html.br",
        b"brotli requests page",
    );
    let api = Router::new().route("/api/health", get(|| async { "ok" }));
    let site = site_app(api, config(), older._dir.path(), None, &older.policy);
    let get = |uri: &'static str, br: bool| {
        let mut req = Request::get(uri);
        if br {
            req = req.header(header::ACCEPT_ENCODING, "br");
        }
        site.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    for uri in ["/requests", "/r/AAAAAAAAAAAAAAAAAAAAAA"] {
        let res = get(uri, false).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        assert_eq!(
            res.headers().get(header::CACHE_CONTROL).unwrap(),
            REVALIDATE,
            "{uri}"
        );
        let robots = res.headers().get("x-robots-tag").cloned();
        assert_eq!(robots.is_some(), uri.starts_with("/r/"), "{uri}");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], REQUESTS.as_bytes(), "{uri}");
        let res = get(uri, true).await.unwrap();
        assert_eq!(res.headers().get(header::CONTENT_ENCODING).unwrap(), "br");
    }
    for uri in ["/files", "/links", "/callback", "/requestsx"] {
        let res = get(uri, false).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], INDEX.as_bytes(), "{uri}");
    }
}

/// The site build makes the requests' entry from requests.html, the `ferry-requests` binary.
#[test]
fn the_site_build_makes_the_requests_pages_from_their_own_entry() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let page = std::fs::read_to_string(root.join("requests.html")).unwrap();
    assert!(page.contains(r#"data-bin="ferry-requests""#));
    let build = std::fs::read_to_string(root.join("infra/build-site.sh")).unwrap();
    assert!(
        build.contains("requests.html --html-output requests.html"),
        "{build}"
    );
    assert!(root.join("app/src/bin/ferry-requests/main.rs").exists());
}
