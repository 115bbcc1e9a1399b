//! The local stack's S3 endpoint driven by the standard clients at their default settings: the
//! AWS CLI (`aws s3 cp`, multipart above 8 MiB, CRC32 checksums in `aws-chunked` trailers) and
//! boto3, with the data directory's key pair.
//!
//! Both come from PyPI into `.tools/venv` (`xtask/requirements-test.txt`; another virtualenv
//! can be named with `FERRY_TEST_VENV`). Without them the test fails, unless
//! `FERRY_SKIP_EMULATOR_TESTS=1` says to skip the tests that need outside tools.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::support::local::start_in;
use ferry::config::Limits;

/// The virtualenv with `aws` and boto3.
fn venv() -> PathBuf {
    match std::env::var_os("FERRY_TEST_VENV") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/venv"),
    }
}

/// Whether the tools are there; panics when they are missing and no opt-out is set.
fn tools_present(test: &str) -> bool {
    let bin = venv().join("bin");
    if bin.join("aws").exists() && bin.join("python").exists() {
        return true;
    }
    let message = format!(
        "the AWS CLI and boto3 are not installed in {}; `cargo xtask test` installs them \
         (xtask/requirements-test.txt)",
        venv().display()
    );
    if std::env::var("FERRY_SKIP_EMULATOR_TESTS").as_deref() == Ok("1") {
        eprintln!("SKIPPED {test}: {message}");
        return false;
    }
    panic!("{message}; set FERRY_SKIP_EMULATOR_TESTS=1 to skip");
}

/// Runs a tool from the virtualenv against the endpoint, with nothing from the user's own AWS
/// configuration.
async fn run(program: &str, args: &[&str], env: &[(&str, String)], home: &Path) -> Output {
    let mut command = tokio::process::Command::new(venv().join("bin").join(program));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(240), command.output())
        .await
        .unwrap_or_else(|_| panic!("{program} {args:?} did not finish"))
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn sample(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

const BOTO3_SCRIPT: &str = r#"
import sys
import boto3

endpoint, src, dst = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint)
s3.upload_file(src, "ferry-files", "boto/big.bin")
s3.download_file("ferry-files", "boto/big.bin", dst)
s3.put_object(Bucket="ferry-files", Key="boto/small.txt", Body=b"hello from boto3")
got = s3.get_object(Bucket="ferry-files", Key="boto/small.txt", ChecksumMode="ENABLED")
assert got["Body"].read() == b"hello from boto3"
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="ferry-files", Prefix="boto/")["Contents"]]
assert keys == ["boto/big.bin", "boto/small.txt"], keys
print("boto3 ok")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_and_boto3_work_at_their_defaults() {
    if !tools_present("the_aws_cli_and_boto3_work_at_their_defaults") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let stack = start_in(&dir.path().join("data"), Limits::default()).await;
    let pair = ferry::local::s3_credentials(&dir.path().join("data")).unwrap();
    let endpoint = stack.s3_endpoint.url();
    let env = [
        ("AWS_ACCESS_KEY_ID", pair.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY", pair.secret_key.clone()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ENDPOINT_URL_S3", endpoint.clone()),
    ];
    let home = dir.path();

    // 20 MiB: above the CLI's 8 MiB multipart threshold, so three parts with CRC32 trailers.
    let bytes = sample(20 << 20);
    let src = dir.path().join("big.bin");
    std::fs::write(&src, &bytes).unwrap();
    let src_arg = src.to_str().unwrap();
    run(
        "aws",
        &["s3", "cp", src_arg, "s3://ferry-files/cli/big.bin"],
        &env,
        home,
    )
    .await;
    let back = dir.path().join("back.bin");
    run(
        "aws",
        &[
            "s3",
            "cp",
            "s3://ferry-files/cli/big.bin",
            back.to_str().unwrap(),
        ],
        &env,
        home,
    )
    .await;
    assert!(
        std::fs::read(&back).unwrap() == bytes,
        "aws s3 cp round trip"
    );
    let listed = run("aws", &["s3", "ls", "s3://ferry-files/cli/"], &env, home).await;
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("20971520 big.bin"), "{listed}");

    let boto_back = dir.path().join("boto-back.bin");
    let out = run(
        "python",
        &[
            "-c",
            BOTO3_SCRIPT,
            &endpoint,
            src_arg,
            boto_back.to_str().unwrap(),
        ],
        &env,
        home,
    )
    .await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("boto3 ok"));
    assert!(
        std::fs::read(&boto_back).unwrap() == bytes,
        "boto3 round trip"
    );
    stack.shutdown().await;
}
