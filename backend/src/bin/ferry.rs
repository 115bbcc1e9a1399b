//! `ferry`: run Ferry on one machine (`ferry serve`), or against AWS services and emulators
//! (`ferry serve --backend aws`, `ferry provision`).

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use ferry::adapters::aws::AwsAdapters;
use ferry::adapters::aws::provision::{self, ProvisionOptions};
use ferry::aws_serve::{self, AwsServeOptions};
use ferry::config::Limits;
use ferry::local::{self, LocalOptions};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Ferry: share files through presigned links."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the site and API: with embedded S3, metadata store and identity provider (the local
    /// stack, the default), or on AWS services.
    Serve(ServeArgs),
    /// Create the bucket (with CORS), table, queue and S3→SQS notification when missing, on an
    /// emulator (`AWS_ENDPOINT_URL`) or a dev account. Needs `FERRY_BUCKET` and `FERRY_TABLE`.
    Provision(ProvisionArgs),
    /// Print the local S3 endpoint's key pair, region and address as `NAME=value` lines, for the
    /// AWS CLI or SDKs: `export $(ferry credentials)`. Makes the pair if the data directory has
    /// none yet.
    Credentials(CredentialsArgs),
    /// Benchmarks only (`bench/api`): add ready file records of one user to the metadata store
    /// of a local stack that is not running.
    #[command(hide = true)]
    SeedFiles(SeedArgs),
}

#[derive(clap::Args)]
struct SeedArgs {
    /// The local stack's data directory.
    #[arg(long, env = "FERRY_DATA_DIR", default_value = ".ferry-data")]
    data_dir: PathBuf,
    /// The owner's `sub`.
    #[arg(long)]
    owner: String,
    /// How many records to add.
    #[arg(long)]
    count: usize,
}

#[derive(clap::Args)]
struct CredentialsArgs {
    /// The local stack's data directory.
    #[arg(long, env = "FERRY_DATA_DIR", default_value = ".ferry-data")]
    data_dir: PathBuf,
    /// Address the local stack binds.
    #[arg(long, env = "FERRY_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port of the embedded S3-compatible endpoint.
    #[arg(long, env = "FERRY_S3_PORT", default_value_t = 9000)]
    s3_port: u16,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// Embedded stand-ins for S3, DynamoDB and Cognito; no AWS account needed.
    Local,
    /// S3, DynamoDB, Cognito and SQS through the AWS SDK (honours `AWS_ENDPOINT_URL`).
    Aws,
}

#[derive(clap::Args)]
struct ServeArgs {
    #[arg(long, env = "FERRY_BACKEND", value_enum, default_value_t = Backend::Local)]
    backend: Backend,
    /// Port of the site, API and sign-in pages.
    #[arg(long, env = "FERRY_PORT", default_value_t = 8080)]
    port: u16,
    /// Port of the embedded S3-compatible endpoint (local backend).
    #[arg(long, env = "FERRY_S3_PORT", default_value_t = 9000)]
    s3_port: u16,
    /// Where files, metadata, users and keys are kept (local backend).
    #[arg(long, env = "FERRY_DATA_DIR", default_value = ".ferry-data")]
    data_dir: PathBuf,
    /// The built site (trunk's output).
    #[arg(long, env = "FERRY_SITE_DIR", default_value = "dist")]
    site_dir: PathBuf,
    /// Address to bind. Loopback by default: the local stack is for one machine.
    #[arg(long, env = "FERRY_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Ask for a confirmation code on sign-up instead of confirming automatically (local backend).
    #[arg(long, env = "FERRY_REQUIRE_CONFIRMATION")]
    require_confirmation: bool,
    /// Development: also accept `trunk serve` on :8081 as a site origin and sign-in redirect
    /// (local backend).
    #[arg(long, env = "FERRY_DEV")]
    dev: bool,
}

#[derive(clap::Args)]
struct ProvisionArgs {
    /// Origin of the site, allowed by the bucket's CORS rules (repeatable).
    #[arg(
        long = "origin",
        env = "FERRY_SITE_ORIGIN",
        default_value = "http://127.0.0.1:8080"
    )]
    origins: Vec<String>,
    /// Name of the upload-events queue (its dead-letter queue gets a `-dlq` suffix).
    #[arg(long, env = "FERRY_QUEUE_NAME", default_value = "ferry-upload-events")]
    queue_name: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rust_log = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    tracing_subscriber::fmt()
        .with_env_filter(local::log_filter(rust_log.as_deref()))
        .init();
    match Cli::parse().command {
        Command::Serve(args) if args.backend == Backend::Aws => {
            let server = aws_serve::start(AwsServeOptions {
                host: args.host,
                port: args.port,
                site_dir: args.site_dir,
                limits: Limits::from_env()?,
            })
            .await?;
            println!("Ferry (AWS backend) is running at {}", server.url());
            server.run_until_ctrl_c().await
        }
        Command::Serve(args) => {
            let stack = local::start(LocalOptions {
                host: args.host,
                port: args.port,
                s3_port: args.s3_port,
                data_dir: args.data_dir,
                site_dir: args.site_dir,
                limits: Limits::from_env()?,
                require_confirmation: args.require_confirmation,
                dev: args.dev,
                ..LocalOptions::default()
            })
            .await?;
            println!("Ferry is running at {}", stack.url());
            println!(
                "  S3-compatible endpoint: {} (key pair: `ferry credentials`)",
                stack.s3_endpoint.url()
            );
            stack.run_until_ctrl_c().await
        }
        Command::Credentials(args) => {
            let pair = local::s3_credentials(&args.data_dir)?;
            let endpoint = std::net::SocketAddr::new(args.host, args.s3_port);
            print!("{}", pair.env_lines());
            println!("AWS_DEFAULT_REGION={}", local::LOCAL_REGION);
            println!("AWS_ENDPOINT_URL_S3=http://{endpoint}");
            Ok(())
        }
        Command::SeedFiles(args) => seed_files(args).await,
        Command::Provision(args) => {
            let aws = AwsAdapters::from_env().await?;
            let done = provision::run(
                &aws,
                &ProvisionOptions {
                    allowed_origins: args.origins,
                    queue_name: args.queue_name,
                },
            )
            .await?;
            let said = |created: bool| if created { "created" } else { "already there" };
            println!(
                "bucket {}: {}",
                aws.settings.bucket,
                said(done.bucket_created)
            );
            println!("table {}: {}", aws.settings.table, said(done.table_created));
            println!("FERRY_EVENTS_QUEUE_URL={}", done.queue_url);
            Ok(())
        }
    }
}

/// Adds `args.count` ready 1 KiB files named `bench-{n}.bin` to the store (no bytes behind them:
/// the list reads records only) and says how long it took.
async fn seed_files(args: SeedArgs) -> anyhow::Result<()> {
    use ferry::adapters::local::store::LocalMetadataStore;
    use ferry::domain::{ContentType, FileId, FileName, FileRecord, UserId};

    let owner = UserId::parse(&args.owner)?;
    let store = LocalMetadataStore::open(&args.data_dir.join("metadata.redb"))?;
    let content_type = ContentType::parse("application/octet-stream")?;
    let now = time::OffsetDateTime::now_utc();
    let started = std::time::Instant::now();
    let make = {
        let owner = owner.clone();
        move |i: usize| FileRecord {
            owner: owner.clone(),
            id: FileId::new(),
            name: FileName::parse(&format!("bench-{i:06}.bin"))
                .expect("a name of ASCII letters and digits is valid"),
            size: 1024,
            content_type: content_type.clone(),
            status: ferry_api::FileStatus::Ready,
            created_at: now,
            upload_expires_at: now,
            sha256: None,
            thumbnail_key: None,
            multipart_upload_id: None,
            part_size: None,
            folder: None,
            guest: None,
        }
    };
    store.insert_ready_files(&owner, args.count, make).await?;
    println!(
        "{} records added in {:.2} s",
        args.count,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
