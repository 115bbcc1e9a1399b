//! `ferry serve` on AWS services (or an emulator such as moto): the local server's web app and
//! API on the AWS adapters, with an SQS poller feeding the same events handler the
//! `ferry-events` Lambda runs.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use ferry_api::SiteConfig;
use tokio::net::TcpListener;

use crate::adapters::aws::AwsAdapters;
use crate::config::Limits;
use crate::lambda::events_function::EventsFunction;
use crate::lambda::sqs;
use crate::serve_loop::ServeLimits;
use crate::site::{SitePolicy, origin_of};
use crate::site_server::{self, SignIn, Site, SiteServer, site_config};

#[derive(Clone, Debug)]
pub struct AwsServeOptions {
    pub host: IpAddr,
    pub port: u16,
    pub site_dir: PathBuf,
    pub limits: Limits,
}

/// A running server on AWS adapters.
pub struct AwsServer {
    pub addr: SocketAddr,
    pub config: SiteConfig,
    site: SiteServer,
}

impl AwsServer {
    pub fn url(&self) -> String {
        self.site.url()
    }

    pub async fn shutdown(self) {
        self.site.shutdown().await;
    }

    pub async fn run_until_ctrl_c(self) -> anyhow::Result<()> {
        site_server::ctrl_c().await?;
        self.shutdown().await;
        Ok(())
    }
}

/// Sign-in through the hosted UI of the configured Cognito user pool.
fn sign_in(aws: &AwsAdapters) -> SignIn {
    let settings = &aws.settings;
    let issuer = settings.cognito_issuer.clone().unwrap_or_default();
    SignIn {
        region: aws
            .sdk
            .region()
            .map(ToString::to_string)
            .unwrap_or_default(),
        user_pool_id: issuer.rsplit('/').next().unwrap_or_default().to_owned(),
        client_id: settings.cognito_client_id.clone().unwrap_or_default(),
        // The hosted-UI domain (`https://<prefix>.auth.<region>.amazoncognito.com`).
        auth_base: std::env::var("FERRY_AUTH_BASE").unwrap_or_default(),
        cognito_endpoint: aws.sdk.endpoint_url().map(str::to_owned),
    }
}

/// The CSP's origins: where presigned URLs point (asked of the presigner itself, so emulators
/// and custom endpoints are named right) and the hosted UI; HTTPS when a TLS proxy in front
/// gives the public URL.
async fn site_policy(state: &crate::AppState, config: &SiteConfig) -> SitePolicy {
    let probe = state
        .objects
        .presign_get(
            "files/csp-origin",
            "inline",
            std::time::Duration::from_secs(60),
        )
        .await;
    let files_origins = match probe.ok().and_then(|req| origin_of(&req.url)) {
        Some(origin) => vec![origin],
        None => {
            tracing::warn!(
                "could not tell the files bucket's origin: uploads may be refused by the CSP"
            );
            Vec::new()
        }
    };
    SitePolicy {
        files_origins,
        auth_origin: origin_of(&config.auth_base),
        https: state.public_base_url.starts_with("https://"),
    }
}

/// Starts the server (and the queue poller when `FERRY_EVENTS_QUEUE_URL` is set).
pub async fn start(options: AwsServeOptions) -> anyhow::Result<AwsServer> {
    let listener = TcpListener::bind((options.host, options.port))
        .await
        .with_context(|| format!("binding {}:{}", options.host, options.port))?;
    let addr = listener.local_addr()?;
    let origin = format!("http://{addr}");

    let mut aws = AwsAdapters::from_env().await?;
    let public_base = aws
        .settings
        .public_base_url
        .get_or_insert_with(|| origin.clone())
        .clone();
    let state = aws.app_state(options.limits.clone())?;
    let config = site_config(sign_in(&aws), &public_base, &options.limits);

    let poller = aws.settings.events_queue_url.clone().map(|queue_url| {
        let mut ctx = aws.event_context(Arc::new(options.limits.clone()));
        // One process, one bound on image decoding: events and requests share it.
        ctx.images = Arc::clone(&state.image_work);
        let handler = EventsFunction::new(ctx, Some(aws.meta.clone()));
        tracing::info!(%queue_url, "polling upload events");
        tokio::spawn(sqs::poll_forever(aws.sqs.clone(), queue_url, handler))
    });

    let policy = site_policy(&state, &config).await;
    let mut site = SiteServer::start(
        listener,
        Site {
            state,
            config: config.clone(),
            site_dir: &options.site_dir,
            sign_in_routes: None,
            policy,
            limits: ServeLimits::default(),
        },
    )?;
    if let Some(poller) = poller {
        site.keep(poller);
    }
    Ok(AwsServer { addr, config, site })
}
