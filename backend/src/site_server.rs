//! What `ferry serve` does the same way on the local stack and on AWS: the site configuration
//! (`/config.json`) and one server lifecycle: the site, the API and any sign-in routes on one
//! port, the background tasks that live as long as it, and their shutdown.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;
use axum::Router;
use ferry_api::SiteConfig;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::AppState;
use crate::config::Limits;
use crate::serve_loop::{self, ServeLimits, Server};
use crate::site::{SitePolicy, site_app};

/// Where and how users sign in, as the app needs to know it.
#[derive(Clone, Debug, Default)]
pub struct SignIn {
    pub region: String,
    pub user_pool_id: String,
    pub client_id: String,
    /// The hosted UI's origin.
    pub auth_base: String,
    /// The Cognito JSON API, when it is not AWS's own (the local identity provider, emulators).
    pub cognito_endpoint: Option<String>,
}

/// The site configuration: the API under `/api`, sign-in as given, and the sign-in callbacks on
/// `public_base` (the site's origin as browsers reach it).
pub fn site_config(sign_in: SignIn, public_base: &str, limits: &Limits) -> SiteConfig {
    SiteConfig {
        api_base: "/api".to_owned(),
        cognito_region: sign_in.region,
        user_pool_id: sign_in.user_pool_id,
        client_id: sign_in.client_id,
        auth_base: sign_in.auth_base,
        redirect_uri: format!("{public_base}/callback"),
        logout_uri: format!("{public_base}/"),
        cognito_endpoint: sign_in.cognito_endpoint,
        multipart_threshold: Some(limits.multipart_threshold),
        max_share_files: Some(limits.max_share_files),
        live_url: None,
        encrypt_by_default: limits.encrypt_by_default,
    }
}

/// What one site server serves.
pub struct Site<'a> {
    pub state: AppState,
    pub config: SiteConfig,
    pub site_dir: &'a Path,
    /// Routes of an identity provider served on the site's own origin (the local stack's).
    pub sign_in_routes: Option<Router>,
    pub policy: SitePolicy,
    pub limits: ServeLimits,
}

/// A running site server and the background tasks that stop with it.
pub struct SiteServer {
    pub addr: SocketAddr,
    pub config: SiteConfig,
    server: Server,
    tasks: Vec<JoinHandle<()>>,
}

impl SiteServer {
    /// Serves `site` on `listener`; accepts connections once this returns.
    pub fn start(listener: TcpListener, site: Site<'_>) -> anyhow::Result<Self> {
        let addr = listener
            .local_addr()
            .context("reading the site's address")?;
        let app = site_app(
            crate::router(site.state),
            site.config.clone(),
            site.site_dir,
            site.sign_in_routes,
            &site.policy,
        );
        let server = serve_loop::spawn(
            "site",
            listener,
            app.into_service::<Incoming>(),
            site.limits,
        );
        Ok(Self {
            addr,
            config: site.config,
            server,
            tasks: Vec::new(),
        })
    }

    /// Runs `task` until the server shuts down.
    pub fn keep(&mut self, task: JoinHandle<()>) {
        self.tasks.push(task);
    }

    /// `http://127.0.0.1:8080`-style origin of the site and API.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the background tasks, then the server (which lets requests in flight finish).
    pub async fn shutdown(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.server.shutdown().await;
    }
}

/// Waits for Ctrl-C, the end of every `ferry serve`.
pub async fn ctrl_c() -> anyhow::Result<()> {
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::info!("shutting down");
    Ok(())
}
