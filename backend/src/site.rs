//! The web site as `ferry serve` sends it (local and AWS mode alike): the SPA from trunk's
//! `dist/`, `/config.json`, the API, and the headers and caching CloudFront applies in AWS
//! (`infra/template.yaml`: the response-headers policies and the SPA routing function).

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, get_service};
use ferry_api::SiteConfig;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, VARY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderName, HeaderValue};
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Hashed assets (trunk's `name-<hash>.ext`, the boot script): their name changes with their
/// content, so browsers may keep them for a year.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Entry points (`index.html`, `/config.json`): always revalidated, so a deploy shows at once.
pub const REVALIDATE: &str = "no-cache";
/// Unhashed copied files (favicon, robots.txt), as the deploy workflow uploads them.
pub const SHORT: &str = "public, max-age=300";
/// HSTS as CloudFront sends it (two years, this host only).
pub const HSTS: &str = "max-age=63072000";
const X_ROBOTS_TAG: HeaderName = HeaderName::from_static("x-robots-tag");

/// The origins the page talks to besides its own, and whether it is served over HTTPS.
#[derive(Clone, Debug, Default)]
pub struct SitePolicy {
    /// Where presigned URLs point (uploads, downloads, thumbnails).
    pub files_origins: Vec<String>,
    /// The hosted UI's origin (token endpoint), when it is not the site's own.
    pub auth_origin: Option<String>,
    /// Served over HTTPS: adds HSTS and `upgrade-insecure-requests`. Both are wrong on plain
    /// HTTP: browsers ignore HSTS from an insecure origin (RFC 6797 §8.1), and upgrading would
    /// send the page's requests to the local S3 endpoint over a TLS port that does not exist.
    pub https: bool,
}

/// The Content-Security-Policy of the site, directive by directive the one in
/// `infra/template.yaml` (`backend/tests/it/infra_template.rs` compares them).
pub fn content_security_policy(policy: &SitePolicy) -> String {
    let files = policy.files_origins.join(" ");
    let auth = policy.auth_origin.as_deref().unwrap_or_default();
    let join = |parts: &[&str]| {
        parts
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut directives = vec![
        "default-src 'self'".to_owned(),
        // 'wasm-unsafe-eval' lets the page compile its WebAssembly and nothing else.
        "script-src 'self' 'wasm-unsafe-eval'".to_owned(),
        // Components set inline style attributes (progress bars).
        "style-src 'self' 'unsafe-inline'".to_owned(),
        join(&["img-src 'self' data: blob:", &files]),
        join(&["connect-src 'self'", auth, &files]),
        "font-src 'self'".to_owned(),
        "object-src 'none'".to_owned(),
        "base-uri 'self'".to_owned(),
        "form-action 'self'".to_owned(),
        "frame-ancestors 'none'".to_owned(),
    ];
    if policy.https {
        directives.push("upgrade-insecure-requests".to_owned());
    }
    directives.join("; ")
}

/// The whole web server: the API (and, locally, the identity provider), `/config.json`, and the
/// site from `site_dir`.
///
/// Routing is CloudFront's: a path whose last segment has no dot is a client-side route and
/// gets its entry page ([`entry_page`]: `landing.html` for `/`, the landing page's own small
/// entry; `share.html` for `/s/{token}`, the recipients' own small page; `requests.html`, the
/// app's file requests entry, for `/requests` and `/r/{token}`; `index.html`, the app, for the
/// rest); anything else is a file, and a missing one is a 404 rather than HTML (so
/// `/robots.txt` is never the app). A site built without `landing.html` answers `/` with the
/// app, whose own landing page it then shows; one without `requests.html` (an older build)
/// answers the requests' routes with `index.html`.
///
/// `idp` answers `POST /` (Cognito's JSON API) while the page is `GET /`: an outer router splits
/// `/` by method and hands everything else to the inner routes.
pub fn site_app(
    api: Router,
    config: SiteConfig,
    site_dir: &Path,
    idp: Option<Router>,
    policy: &SitePolicy,
) -> Router {
    let entry = |name: &str| {
        ServeFile::new(site_dir.join(name))
            .precompressed_br()
            .precompressed_gzip()
    };
    let (index, share) = (entry(INDEX_PAGE), entry(SHARE_PAGE));
    let or_index = |name: &str| {
        if site_dir.join(name).is_file() {
            entry(name)
        } else {
            index.clone()
        }
    };
    let (landing, requests) = (or_index(LANDING_PAGE), or_index(REQUESTS_PAGE));
    let files = ServeDir::new(site_dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false);
    let site = Router::new()
        .fallback(move |request: Request| {
            let (index, share, files) = (index.clone(), share.clone(), files.clone());
            let (landing, requests) = (landing.clone(), requests.clone());
            async move {
                match entry_page(request.uri().path()) {
                    Some(SHARE_PAGE) => share.oneshot(request).await.into_response(),
                    Some(LANDING_PAGE) => landing.oneshot(request).await.into_response(),
                    Some(REQUESTS_PAGE) => requests.oneshot(request).await.into_response(),
                    Some(_) => index.oneshot(request).await.into_response(),
                    None => files.oneshot(request).await.into_response(),
                }
            }
        })
        .layer(middleware::from_fn(site_caching));
    let mut routes = api.route(
        "/config.json",
        get(move || async move { ([(CACHE_CONTROL, REVALIDATE)], axum::Json(config)) }),
    );
    if let Some(idp) = &idp {
        routes = routes.merge(idp.clone());
    }
    let mut root = get_service(site.clone());
    if let Some(idp) = idp {
        root = root.post_service(idp);
    }
    let app = Router::new()
        .route("/", root)
        .fallback_service(routes.fallback_service(site));
    site_headers(app, policy).layer(TraceLayer::new_for_http())
}

/// The app's entry page.
pub const INDEX_PAGE: &str = "index.html";
/// The recipients' page (`share.html`, built from its own small entry).
pub const SHARE_PAGE: &str = "share.html";
/// The landing page, `/` (`landing.html`, built from its own small entry).
pub const LANDING_PAGE: &str = "landing.html";
/// The app's file requests entry: `/requests` and the guests' `/r/{token}` (`requests.html`,
/// the app crate's `ferry-requests` binary), so the main entry's wasm does not carry them.
pub const REQUESTS_PAGE: &str = "requests.html";

/// The files of "Download all" that keep their names across builds: the download worker
/// (`sw.js`) and the ZIP module (its loader, script and wasm) the recipients' page loads by name. Revalidated like entry pages,
/// so a deploy replaces them at once (and the module's script and wasm never mismatch). So is
/// the app's sealing worker (`ferry-seal.js`), whose requests the app's wasm writes.
pub const UNHASHED_SCRIPTS: [&str; 5] = [
    "sw.js",
    "ferry-zip-loader.js",
    "ferry-zip.js",
    "ferry-zip_bg.wasm",
    "ferry-seal.js",
];

/// A path whose last segment has no dot is a page of the site (CloudFront's SPA routing function).
fn is_client_route(path: &str) -> bool {
    !path.rsplit('/').next().unwrap_or_default().contains('.')
}

/// The HTML file a path gets, as CloudFront's routing functions choose it: `landing.html` for
/// `/`, `share.html` under `/s/`, `requests.html` for `/requests` (and below) and under `/r/`,
/// `index.html` for any other client route, `None` for a file. The app's `Entry::of` splits
/// its routes the same way.
pub fn entry_page(path: &str) -> Option<&'static str> {
    if !is_client_route(path) {
        None
    } else if path == "/" {
        Some(LANDING_PAGE)
    } else if path.starts_with("/s/") {
        Some(SHARE_PAGE)
    } else if path == "/requests" || path.starts_with("/requests/") || path.starts_with("/r/") {
        Some(REQUESTS_PAGE)
    } else {
        Some(INDEX_PAGE)
    }
}

/// How long browsers may keep what the site answered, as the deploy uploads it to S3; share
/// and file request pages are not for search engines (`X-Robots-Tag`, as CloudFront's `/s/*`
/// and `/r/*` behaviours send).
async fn site_caching(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let ok = response.status().is_success() || response.status().is_redirection();
    let headers = response.headers_mut();
    if path.starts_with("/s/") || path.starts_with("/r/") {
        headers.insert(X_ROBOTS_TAG, HeaderValue::from_static("noindex"));
    }
    // The same path answers brotli, gzip or identity (precompressed files).
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    let value = if ok { cache_control(&path) } else { REVALIDATE };
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

/// The `Cache-Control` of a site path (after nothing but the path is known).
pub fn cache_control(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or_default();
    if is_client_route(path)
        || [INDEX_PAGE, SHARE_PAGE, LANDING_PAGE, REQUESTS_PAGE].contains(&name)
        || UNHASHED_SCRIPTS.contains(&name)
    {
        REVALIDATE
    } else if is_hashed(name) {
        IMMUTABLE
    } else {
        SHORT
    }
}

/// `name-<hash>.ext` or `name-<hash>_bg.wasm`: trunk's content-hashed file names. Trunk prints
/// its 64-bit hash as hex without leading zeros, so one build in sixteen has 15 digits, one in
/// 256 has 14; eight or more digits is a hash (shorter would take plain words such as `-cafe`).
fn is_hashed(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        (8..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Headers every response of the site carries (CloudFront's response-headers policy in AWS).
/// Pages that set their own (the local identity provider's sign-in forms) keep theirs.
fn site_headers(router: Router, policy: &SitePolicy) -> Router {
    let csp = HeaderValue::from_str(&content_security_policy(policy))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
    let mut router = router
        .layer(SetResponseHeaderLayer::if_not_present(
            CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ));
    if policy.https {
        router = router.layer(SetResponseHeaderLayer::overriding(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        ));
    }
    router
}

/// `scheme://host[:port]` of an absolute URL: what CSP source lists name and browsers send in
/// `Origin`.
pub fn origin_of(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed("ferry-app-0123456789abcdef.js"));
        assert!(is_hashed("ferry-app-0123456789abcdef_bg.wasm"));
        assert!(is_hashed("main-0123456789abcdef.css"));
        assert!(is_hashed("boot-0123456789abcdef.js"));
        assert!(!is_hashed("favicon.svg"));
        assert!(!is_hashed("robots.txt"));
        assert!(!is_hashed("ferry-app-0123.js"));
        assert!(!is_hashed("icon-cafe.svg"));
        // Trunk drops the hash's leading zeros.
        assert!(is_hashed("ferry-app-b6198bb1aef1d20_bg.wasm"));
        assert!(is_hashed("main-6198bb1aef1d2.css"));
        assert!(!is_hashed("ferry-app-0123456789abcdef0.js"));
        assert_eq!(cache_control("/files"), REVALIDATE);
        assert_eq!(cache_control("/index.html"), REVALIDATE);
        assert_eq!(cache_control("/robots.txt"), SHORT);
        assert_eq!(cache_control("/share.html"), REVALIDATE);
        assert_eq!(cache_control("/requests.html"), REVALIDATE);
    }

    #[test]
    fn share_links_get_the_recipients_page_and_other_routes_the_app() {
        assert_eq!(entry_page("/s/AAAAAAAAAAAAAAAAAAAAAA"), Some(SHARE_PAGE));
        assert_eq!(entry_page("/s/"), Some(SHARE_PAGE));
        assert_eq!(entry_page("/"), Some(LANDING_PAGE));
        assert_eq!(entry_page("/files"), Some(INDEX_PAGE));
        assert_eq!(entry_page("/sx/token"), Some(INDEX_PAGE));
        assert_eq!(entry_page("/s/token/favicon.svg"), None);
        assert_eq!(entry_page("/share.html"), None);
        assert_eq!(entry_page("/requests"), Some(REQUESTS_PAGE));
        assert_eq!(entry_page("/r/AAAAAAAAAAAAAAAAAAAAAA"), Some(REQUESTS_PAGE));
        assert_eq!(entry_page("/requestsx"), Some(INDEX_PAGE));
        assert_eq!(entry_page("/rx/token"), Some(INDEX_PAGE));
        assert_eq!(entry_page("/r/token/favicon.svg"), None);
        assert_eq!(entry_page("/requests.html"), None);
    }

    #[test]
    fn the_policy_names_the_files_and_auth_origins_and_upgrades_only_on_https() {
        let policy = SitePolicy {
            files_origins: vec!["http://127.0.0.1:9000".into()],
            auth_origin: None,
            https: false,
        };
        let csp = content_security_policy(&policy);
        assert!(
            csp.contains("connect-src 'self' http://127.0.0.1:9000;"),
            "{csp}"
        );
        assert!(csp.contains("img-src 'self' data: blob: http://127.0.0.1:9000;"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("upgrade-insecure-requests"));
        let https = SitePolicy {
            auth_origin: Some("https://auth.example".into()),
            https: true,
            ..policy
        };
        let csp = content_security_policy(&https);
        assert!(csp.contains("connect-src 'self' https://auth.example http://127.0.0.1:9000;"));
        assert!(csp.ends_with("; upgrade-insecure-requests"));
    }

    #[test]
    fn origins_drop_paths_and_queries() {
        assert_eq!(
            origin_of("https://b.s3.eu-west-1.amazonaws.com/files/x?X-Amz-Signature=1").as_deref(),
            Some("https://b.s3.eu-west-1.amazonaws.com")
        );
        assert_eq!(origin_of("/relative"), None);
    }

    #[test]
    fn the_download_worker_and_zip_module_are_files_always_revalidated() {
        for path in [
            "/sw.js",
            "/ferry-zip-loader.js",
            "/ferry-zip.js",
            "/ferry-zip_bg.wasm",
        ] {
            assert_eq!(entry_page(path), None, "{path}");
            assert_eq!(cache_control(path), REVALIDATE, "{path}");
        }
    }

    #[test]
    fn file_request_pages_are_the_app() {
        // The app's second entry since issue 17 (the main entry's wasm no longer carries them).
        assert_eq!(entry_page("/r/AAAAAAAAAAAAAAAAAAAAAA"), Some(REQUESTS_PAGE));
        assert_eq!(entry_page("/requests"), Some(REQUESTS_PAGE));
    }

    #[test]
    fn the_sealing_worker_is_a_file_always_revalidated() {
        // The app's wasm and the worker it starts must come from the same deploy.
        assert_eq!(entry_page("/ferry-seal.js"), None);
        assert_eq!(cache_control("/ferry-seal.js"), REVALIDATE);
    }
}
