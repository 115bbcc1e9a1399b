//! The local stack: everything Ferry needs on one machine, speaking AWS's protocols.
//!
//! One process serves the site, `/config.json`, the API (the same Router as the Lambda) and the
//! Cognito-compatible identity provider on one port, and the S3-compatible endpoint on another.
//! Presigned URLs come from aws-sdk-s3 pointed at the embedded endpoint, so the browser code and
//! the signing code are the ones that run in AWS.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use ferry_api::SiteConfig;
use tokio::net::TcpListener;

use crate::adapters::jwks::JwksVerifier;
use crate::adapters::local::idp::{IdpConfig, IdpShared, LocalIdp};
use crate::adapters::local::s3_credentials;
use crate::adapters::local::s3_endpoint::{self, ObjectCreatedHook, S3Endpoint, S3EndpointConfig};
use crate::adapters::local::store::LocalMetadataStore;
use crate::adapters::s3::{S3ObjectStore, local_client};
use crate::config::Limits;
use crate::live;
use crate::local_live::{self, LocalLive};
use crate::ports::{Clock, MetadataError, SystemClock};
use crate::serve_loop::ServeLimits;
use crate::site::SitePolicy;
use crate::site_server::{self, SignIn, Site, SiteServer, site_config};
use crate::state::AppState;
use crate::upload_events::{self, EventContext};
use crate::work_gate::WorkGate;

pub const LOCAL_BUCKET: &str = "ferry-files";
pub const LOCAL_REGION: &str = "us-east-1";
pub const LOCAL_USER_POOL_ID: &str = "us-east-1_ferrylocal";
pub const LOCAL_CLIENT_ID: &str = "ferry-local-client";

/// The log filter of `ferry`: `RUST_LOG` (or `info,tower_http=warn`), with s3s silenced unless
/// `RUST_LOG` names it. s3s logs every refused request at ERROR, twice; the S3 endpoint logs
/// each refused request once itself, at a level that says whose fault it was.
pub fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    let given = rust_log.filter(|v| !v.trim().is_empty());
    let filter = given
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new("info,tower_http=warn"));
    match "s3s=off".parse::<tracing_subscriber::filter::Directive>() {
        Ok(silenced) if !given.is_some_and(|v| v.contains("s3s")) => filter.add_directive(silenced),
        _ => filter,
    }
}

/// How often the sweeper looks for abandoned uploads.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct LocalOptions {
    pub host: IpAddr,
    /// Port of the site, API and identity provider (0 picks a free one).
    pub port: u16,
    /// Port of the S3-compatible endpoint (0 picks a free one).
    pub s3_port: u16,
    pub data_dir: PathBuf,
    pub site_dir: PathBuf,
    pub limits: Limits,
    /// Require e-mail confirmation codes on sign-up instead of confirming automatically.
    pub require_confirmation: bool,
    /// Development: also accept trunk's dev server on port 8081 as an origin and redirect URI.
    pub dev: bool,
    /// Connection cap and header deadline of each port.
    pub serve_limits: ServeLimits,
    /// The time the API, presigned URLs, the sweeper and the identity provider go by (tests
    /// move it to expire things without waiting).
    pub clock: Arc<dyn Clock>,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            s3_port: 9000,
            data_dir: PathBuf::from(".ferry-data"),
            site_dir: PathBuf::from("dist"),
            limits: Limits::default(),
            require_confirmation: false,
            dev: false,
            serve_limits: ServeLimits::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// A running local stack. Dropping it stops nothing; call [`LocalStack::shutdown`].
pub struct LocalStack {
    pub app_addr: SocketAddr,
    pub s3_endpoint: S3Endpoint,
    pub config: SiteConfig,
    /// The live connections of `/live`.
    pub live: LocalLive,
    site: SiteServer,
}

impl LocalStack {
    /// `http://127.0.0.1:8080`-style origin of the site and API.
    pub fn url(&self) -> String {
        self.site.url()
    }

    pub async fn shutdown(self) {
        self.live.hub.close_all();
        self.site.shutdown().await;
        self.s3_endpoint.shutdown().await;
    }

    /// Runs until Ctrl-C.
    pub async fn run_until_ctrl_c(self) -> anyhow::Result<()> {
        site_server::ctrl_c().await?;
        self.shutdown().await;
        Ok(())
    }
}

/// The key pair of the S3 endpoint of the stack kept in `data_dir` (made now if it has none),
/// for S3 clients such as the AWS CLI.
pub fn s3_credentials(data_dir: &Path) -> anyhow::Result<s3_credentials::S3Credentials> {
    s3_credentials::load_or_create(data_dir)
}

/// Starts every part of the local stack and returns once all of them accept connections.
///
/// Before it returns, uploads left `pending` although their bytes are stored in full (the
/// previous run stopped between storing an object and handling its event) are settled.
pub async fn start(options: LocalOptions) -> anyhow::Result<LocalStack> {
    start_with(options, true).await
}

/// For tests only: [`start`], except that the embedded endpoint's object-created events are
/// dropped, as when the process dies right after storing an object.
#[doc(hidden)]
pub async fn start_losing_object_events(options: LocalOptions) -> anyhow::Result<LocalStack> {
    start_with(options, false).await
}

async fn start_with(options: LocalOptions, deliver_events: bool) -> anyhow::Result<LocalStack> {
    let data_dir = &options.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let credentials = s3_credentials::load_or_create(data_dir)?;

    let listener = TcpListener::bind((options.host, options.port))
        .await
        .with_context(|| format!("binding {}:{}", options.host, options.port))?;
    let app_addr = listener.local_addr()?;
    let origin = format!("http://{app_addr}");

    let meta = Arc::new(
        LocalMetadataStore::open(&data_dir.join("metadata.redb"))
            .context("opening metadata store")?,
    );

    // The endpoint calls the events handler, which needs the object store, which needs the
    // endpoint's address: close the loop once both exist.
    let events_ctx: Arc<OnceLock<EventContext>> = Arc::new(OnceLock::new());
    // Live updates need the token verifier, which needs the site's origin: set once it exists.
    let live_updates: Arc<OnceLock<LocalLive>> = Arc::new(OnceLock::new());
    let hook: ObjectCreatedHook = {
        let events_ctx = Arc::clone(&events_ctx);
        let live_updates = Arc::clone(&live_updates);
        Arc::new(move |key: String| {
            let events_ctx = Arc::clone(&events_ctx);
            let live_updates = Arc::clone(&live_updates);
            Box::pin(async move {
                if !deliver_events {
                    return;
                }
                let Some(ctx) = events_ctx.get() else { return };
                match upload_events::object_created(ctx, &key).await {
                    Ok(outcome) => {
                        tracing::debug!(key, ?outcome, "object created");
                        let notifier = live_updates.get().map(|l| &l.notifier);
                        live::after_object_created(notifier, &key, outcome).await;
                    }
                    Err(err) => {
                        tracing::error!(key, error = %err, "object-created handling failed")
                    }
                }
            })
        })
    };
    let s3_endpoint = s3_endpoint::start(
        S3EndpointConfig {
            addr: SocketAddr::new(options.host, options.s3_port),
            root: data_dir.join("s3"),
            bucket: LOCAL_BUCKET.to_owned(),
            access_key: credentials.access_key.clone(),
            secret_key: credentials.secret_key.clone(),
            allowed_origins: allowed_origins(&app_addr, options.dev),
            limits: options.serve_limits,
        },
        hook,
    )
    .await
    .context("starting the S3-compatible endpoint")?;

    let client = local_client(
        &s3_endpoint.url(),
        &credentials.access_key,
        &credentials.secret_key,
        LOCAL_REGION,
    );
    let clock = Arc::clone(&options.clock);
    let objects = Arc::new(S3ObjectStore::new(client, LOCAL_BUCKET).with_clock(clock.clone()));
    let limits = Arc::new(options.limits.clone());
    let ctx = EventContext {
        objects: objects.clone(),
        meta: meta.clone(),
        limits: limits.clone(),
        images: Arc::new(WorkGate::for_images()),
    };
    let _ = events_ctx.set(ctx.clone());
    match reconcile_pending_uploads(&ctx, &meta).await {
        Ok(0) => {}
        Ok(settled) => tracing::info!(settled, "uploads stored before a restart settled"),
        Err(error) => tracing::warn!(%error, "pending uploads not reconciled; the sweeper retries"),
    }
    let sweeper_meta = Arc::clone(&meta);
    let sweeper_meta_for_live: Arc<dyn crate::ports::MetadataStore> = meta.clone();

    // One bound on password hashing for the whole process: sign-ins and share passwords.
    let password_work = Arc::new(WorkGate::for_passwords());
    let idp = LocalIdp::open_with(
        IdpConfig {
            data_dir: data_dir.join("idp"),
            issuer: origin.clone(),
            region: LOCAL_REGION.to_owned(),
            user_pool_id: LOCAL_USER_POOL_ID.to_owned(),
            client_id: LOCAL_CLIENT_ID.to_owned(),
            redirect_uris: redirect_uris(&app_addr, options.dev),
            auto_confirm: !options.require_confirmation,
            access_token_ttl: Duration::from_secs(3600),
        },
        IdpShared {
            password_work: Arc::clone(&password_work),
            clock: clock.clone(),
        },
    )
    .context("opening the identity provider")?;
    let tokens = Arc::new(JwksVerifier::new(
        &origin,
        format!("{origin}/.well-known/jwks.json"),
        LOCAL_CLIENT_ID,
    )?);
    let live_local = LocalLive::new(tokens.clone(), clock.clone());
    let _ = live_updates.set(live_local.clone());

    let mut state = AppState {
        password_work,
        ..AppState::new(
            objects,
            meta,
            tokens,
            clock.clone(),
            options.limits.clone(),
            &origin,
        )
    };
    // Decodes started by requests and by events take turns at the same gate.
    state.image_work = Arc::clone(&ctx.images);
    state.live = Some(Arc::new(live_local.notifier.clone()));
    let mut config = site_config(
        SignIn {
            region: LOCAL_REGION.to_owned(),
            user_pool_id: LOCAL_USER_POOL_ID.to_owned(),
            client_id: LOCAL_CLIENT_ID.to_owned(),
            auth_base: origin.clone(),
            cognito_endpoint: Some(format!("{origin}/")),
        },
        &origin,
        &options.limits,
    );
    config.live_url = Some(ferry_api::live::LOCAL_PATH.to_owned());
    let mut site = SiteServer::start(
        listener,
        Site {
            state,
            config: config.clone(),
            site_dir: &options.site_dir,
            sign_in_routes: Some(idp.router().merge(live_local.router())),
            policy: SitePolicy {
                files_origins: vec![s3_endpoint.url()],
                auth_origin: None, // the identity provider is the site's own origin
                https: false,
            },
            limits: options.serve_limits,
        },
    )?;

    let sweeper = tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            if let Err(error) = reconcile_pending_uploads(&ctx, &sweeper_meta).await {
                tracing::warn!(%error, "reconciling pending uploads failed");
            }
            if let Err(err) = upload_events::sweep_stale_uploads(&ctx, clock.now()).await {
                tracing::warn!(error = %err, "sweeping stale uploads failed");
            }
        }
    });

    site.keep(sweeper);
    site.keep(live_local.watch_expiry(sweeper_meta_for_live, local_live::EXPIRY_CHECK_EVERY));
    Ok(LocalStack {
        app_addr,
        s3_endpoint,
        config,
        live: live_local,
        site,
    })
}

/// Runs the object-created handler for every pending upload whose object is stored in full: the
/// embedded endpoint's events live only in memory, so those of a process that stopped are lost.
/// Returns how many uploads were settled.
async fn reconcile_pending_uploads(
    ctx: &EventContext,
    meta: &LocalMetadataStore,
) -> Result<usize, MetadataError> {
    const PAGE: usize = 100;
    let mut after = None;
    let mut settled = 0;
    loop {
        let (page, next) = meta.pending_files(after.take(), PAGE).await?;
        for file in &page {
            match upload_events::settle_if_stored(ctx, file).await {
                Ok(None) => {}
                Ok(Some(outcome)) => {
                    settled += 1;
                    tracing::info!(file = %file.id, ?outcome, "stored upload settled");
                }
                Err(error) => tracing::warn!(file = %file.id, %error, "upload not reconciled"),
            }
        }
        match next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(settled),
        }
    }
}

/// The site's origins as a browser may spell them; with `dev`, trunk's dev server on :8081 too.
fn allowed_origins(app: &SocketAddr, dev: bool) -> Vec<String> {
    let port = app.port();
    let mut origins = vec![format!("http://{app}"), format!("http://localhost:{port}")];
    if dev {
        origins.extend([
            "http://127.0.0.1:8081".to_owned(),
            "http://localhost:8081".to_owned(),
        ]);
    }
    origins
}

fn redirect_uris(app: &SocketAddr, dev: bool) -> Vec<String> {
    allowed_origins(app, dev)
        .into_iter()
        .flat_map(|origin| [format!("{origin}/callback"), format!("{origin}/")])
        .collect()
}
