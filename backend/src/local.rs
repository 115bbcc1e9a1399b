//! The local stack: everything Ferry needs on one machine, speaking AWS's protocols.
//!
//! One process serves the site, `/config.json`, the API (the same Router as the Lambda) and the
//! Cognito-compatible identity provider on one port, and the S3-compatible endpoint on another.
//! Presigned URLs come from aws-sdk-s3 pointed at the embedded endpoint, so the browser code and
//! the signing code are the ones that run in AWS.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use ferry_api::SiteConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::adapters::jwks::JwksVerifier;
use crate::adapters::local::idp::{IdpConfig, LocalIdp};
use crate::adapters::local::s3_endpoint::{self, ObjectCreatedHook, S3Endpoint, S3EndpointConfig};
use crate::adapters::local::store::LocalMetadataStore;
use crate::adapters::s3::{S3ObjectStore, local_client};
use crate::config::Limits;
use crate::events::{self, EventContext};
use crate::ports::{Clock, SystemClock};
use crate::site::{SitePolicy, site_app};
use crate::state::AppState;

/// The local key pair the embedded S3 endpoint accepts. Not a secret: it only opens a loopback
/// endpoint on a developer's machine.
pub const LOCAL_ACCESS_KEY: &str = "FERRYLOCALACCESSKEY0";
pub const LOCAL_SECRET_KEY: &str = "ferry-local-secret-key-not-for-production";
pub const LOCAL_BUCKET: &str = "ferry-files";
pub const LOCAL_REGION: &str = "us-east-1";
pub const LOCAL_USER_POOL_ID: &str = "us-east-1_ferrylocal";
pub const LOCAL_CLIENT_ID: &str = "ferry-local-client";

/// How often the sweeper looks for abandoned uploads.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
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
        }
    }
}

/// A running local stack. Dropping it stops nothing; call [`LocalStack::shutdown`].
pub struct LocalStack {
    pub app_addr: SocketAddr,
    pub s3_endpoint: S3Endpoint,
    pub config: SiteConfig,
    server: JoinHandle<()>,
    sweeper: JoinHandle<()>,
}

impl LocalStack {
    /// `http://127.0.0.1:8080`-style origin of the site and API.
    pub fn url(&self) -> String {
        format!("http://{}", self.app_addr)
    }

    pub async fn shutdown(self) {
        self.server.abort();
        self.sweeper.abort();
        let _ = self.server.await;
        self.s3_endpoint.shutdown().await;
    }

    /// Runs until Ctrl-C.
    pub async fn run_until_ctrl_c(self) -> anyhow::Result<()> {
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        tracing::info!("shutting down");
        self.shutdown().await;
        Ok(())
    }
}

/// Starts every part of the local stack and returns once all of them accept connections.
pub async fn start(options: LocalOptions) -> anyhow::Result<LocalStack> {
    let data_dir = &options.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;

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
    let hook: ObjectCreatedHook = {
        let events_ctx = Arc::clone(&events_ctx);
        Arc::new(move |key: String| {
            let events_ctx = Arc::clone(&events_ctx);
            Box::pin(async move {
                let Some(ctx) = events_ctx.get() else { return };
                match events::object_created(ctx, &key).await {
                    Ok(outcome) => tracing::debug!(key, ?outcome, "object created"),
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
            access_key: LOCAL_ACCESS_KEY.to_owned(),
            secret_key: LOCAL_SECRET_KEY.to_owned(),
            allowed_origins: allowed_origins(&app_addr),
        },
        hook,
    )
    .await
    .context("starting the S3-compatible endpoint")?;

    let client = local_client(
        &s3_endpoint.url(),
        LOCAL_ACCESS_KEY,
        LOCAL_SECRET_KEY,
        LOCAL_REGION,
    );
    let objects = Arc::new(S3ObjectStore::new(client, LOCAL_BUCKET));
    let limits = Arc::new(options.limits.clone());
    let ctx = EventContext {
        objects: objects.clone(),
        meta: meta.clone(),
        limits: limits.clone(),
    };
    let _ = events_ctx.set(ctx.clone());

    let idp = LocalIdp::open(IdpConfig {
        data_dir: data_dir.join("idp"),
        issuer: origin.clone(),
        region: LOCAL_REGION.to_owned(),
        user_pool_id: LOCAL_USER_POOL_ID.to_owned(),
        client_id: LOCAL_CLIENT_ID.to_owned(),
        redirect_uris: redirect_uris(&app_addr),
        auto_confirm: !options.require_confirmation,
        access_token_ttl: Duration::from_secs(3600),
    })
    .context("opening the identity provider")?;
    let tokens = Arc::new(JwksVerifier::new(
        &origin,
        format!("{origin}/.well-known/jwks.json"),
        LOCAL_CLIENT_ID,
    )?);

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = AppState::new(
        objects,
        meta,
        tokens,
        clock.clone(),
        options.limits.clone(),
        &origin,
    );
    let config = SiteConfig {
        api_base: "/api".to_owned(),
        cognito_region: LOCAL_REGION.to_owned(),
        user_pool_id: LOCAL_USER_POOL_ID.to_owned(),
        client_id: LOCAL_CLIENT_ID.to_owned(),
        auth_base: origin.clone(),
        redirect_uri: format!("{origin}/callback"),
        logout_uri: format!("{origin}/"),
        cognito_endpoint: Some(format!("{origin}/")),
        multipart_threshold: Some(options.limits.multipart_threshold),
    };

    let policy = SitePolicy {
        files_origins: vec![s3_endpoint.url()],
        auth_origin: None, // the identity provider is the site's own origin
        https: false,
    };
    let app = site_app(
        crate::router(state),
        config.clone(),
        &options.site_dir,
        Some(idp.router()),
        &policy,
    );
    let server = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(error = %err, "local server stopped");
        }
    });

    let sweeper = tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            if let Err(err) = events::sweep_stale_uploads(&ctx, clock.now()).await {
                tracing::warn!(error = %err, "sweeping stale uploads failed");
            }
        }
    });

    Ok(LocalStack {
        app_addr,
        s3_endpoint,
        config,
        server,
        sweeper,
    })
}

/// The site's origins as a browser may spell them (trunk's dev server proxies from :8081 too).
fn allowed_origins(app: &SocketAddr) -> Vec<String> {
    let port = app.port();
    let mut origins = vec![format!("http://{app}"), format!("http://localhost:{port}")];
    origins.extend([
        "http://127.0.0.1:8081".to_owned(),
        "http://localhost:8081".to_owned(),
    ]);
    origins
}

fn redirect_uris(app: &SocketAddr) -> Vec<String> {
    allowed_origins(app)
        .into_iter()
        .flat_map(|origin| [format!("{origin}/callback"), format!("{origin}/")])
        .collect()
}
