//! Ferry's dev commands. `cargo xtask dev` runs the whole product locally; `cargo xtask test`
//! runs every test. Both install what a fresh machine lacks, from the package registries only.

mod layers;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  dev               install what is missing, build the release site (what production serves),
                    run `ferry serve --dev` on 127.0.0.1:8080
  dev --debug-site  the same with a debug build of the site (faster to build, 30x the bytes)
  test              install what is missing and run every test (what CI runs)
  test --quick      the inner loop: fmt, clippy, the layering check, nextest (no site, no browser)
  layers            only the layering check: no import cycle between backend modules
  site [--release]  build the site into dist/
  setup             only install the tools";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Task {
    Dev { release: bool },
    Test { quick: bool },
    Site { release: bool },
    Setup,
    Layers,
}

/// Reads `args` (without the program name); an unknown command or flag is an error, so a typo
/// such as `--quik` never silently runs the whole suite.
fn parse(args: &[String]) -> std::result::Result<Task, String> {
    let Some((command, flags)) = args.split_first() else {
        return Err(USAGE.to_owned());
    };
    let allowed: &[&str] = match command.as_str() {
        // `dev --release` is what `dev` does now; the flag stays accepted for old scripts.
        "dev" => &["--release", "--debug-site"],
        "site" => &["--release"],
        "test" => &["--quick"],
        "setup" | "layers" => &[],
        _ => return Err(USAGE.to_owned()),
    };
    if let Some(unknown) = flags.iter().find(|f| !allowed.contains(&f.as_str())) {
        return Err(format!("unknown flag {unknown} for `{command}`\n{USAGE}"));
    }
    let has = |flag: &str| flags.iter().any(|f| f == flag);
    Ok(match command.as_str() {
        "dev" => Task::Dev {
            release: !has("--debug-site"),
        },
        "test" => Task::Test {
            quick: has("--quick"),
        },
        "site" => Task::Site {
            release: has("--release"),
        },
        "setup" => Task::Setup,
        _ => Task::Layers,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = parse(&args).and_then(|task| match task {
        Task::Dev { release } => dev(release),
        Task::Test { quick: false } => test(),
        Task::Test { quick: true } => test_quick(),
        Task::Site { release } => tools::ensure_site_tools().and_then(|()| build_site(release)),
        Task::Setup => tools::ensure_site_tools().and_then(|()| tools::ensure_test_tools()),
        Task::Layers => layers::check(&root()),
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Runs a command in the repository root with the project's tools on PATH; fails on non-zero.
pub fn run(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    eprintln!("$ {}", shown.replace('"', ""));
    let status = cmd
        .current_dir(root())
        .env("PATH", tools::path_with_tools())
        .status()
        .map_err(|e| format!("could not start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// trunk's builds of both entries (the app, `index.html`, and the recipients' page,
/// `share.html`) made ready for production's CSP (`infra/build-site.sh`: inline boot scripts
/// moved into files), then brotli and gzip twins of each asset.
fn build_site(release: bool) -> Result {
    let mut cmd = Command::new("bash");
    cmd.arg("infra/build-site.sh");
    if release {
        cmd.arg("--release");
    }
    run(&mut cmd)?;
    run(Command::new("node").args(["infra/precompress.mjs", "dist"]))
}

fn dev(release: bool) -> Result {
    tools::ensure_site_tools()?;
    build_site(release)?;
    run(Command::new("cargo").args([
        "run",
        "--package",
        "ferry-backend",
        "--bin",
        "ferry",
        "--",
        "serve",
        // Lets `trunk serve` on :8081 sign in too, for hot reload next to this.
        "--dev",
    ]))
}

fn test() -> Result {
    tools::ensure_site_tools()?;
    tools::ensure_test_tools()?;
    static_checks()?;
    // The release site: proves the app builds for the browser and feeds the browser tests.
    build_site(true)?;
    run(Command::new("cargo").args([
        "nextest",
        "run",
        "--workspace",
        "--no-fail-fast",
        "--profile",
        "ci",
    ]))?;
    browser_unit_tests()?;
    if root().join("infra/check.sh").exists() {
        run(Command::new("bash").arg("infra/check.sh"))?;
    }
    // Schemathesis against the served OpenAPI document, on the `ferry` the run above built:
    // no generated request may make the API answer 5xx.
    run(Command::new(tools::tools_dir().join("venv/bin/python")).arg("xtask/api_fuzz.py"))?;
    if root().join("e2e/package.json").exists() {
        tools::ensure_browser_tools()?;
        // The test run above built target/debug/ferry; a `cargo build` of the binary alone would
        // resolve features differently and rebuild much of the dependency tree.
        run(Command::new("npm")
            .args(["test", "--prefix", "e2e"])
            .env("FERRY_E2E_SKIP_BUILD", "1"))?;
    }
    eprintln!("xtask: every test passed");
    Ok(())
}

/// The app's browser-only code (`mod browser_tests` beside it, wasm-bindgen-test) in headless
/// Chromium: cargo hands the test wasm to wasm-bindgen-test-runner (`.cargo/config.toml`), which
/// drives Chromium through chromedriver with the options in `app/webdriver.json`. Clippy checks
/// those modules here, as the native clippy run never compiles them.
fn browser_unit_tests() -> Result {
    tools::ensure_chromium()?;
    let wasm = ["-p", "ferry-app", "--target", "wasm32-unknown-unknown"];
    run(Command::new("cargo")
        .args(["clippy", "--all-targets"])
        .args(wasm)
        .args(["--", "-D", "warnings"]))?;
    run(Command::new("cargo")
        .args(["test", "--lib"])
        .args(wasm)
        .env("CHROMEDRIVER", tools::CHROMEDRIVER)
        // The runner's 20 s default can run out while a loaded machine loads the debug wasm; the
        // tests themselves take well under a second.
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120"))
}

/// What both `test` and `test --quick` check before running anything: formatting, clippy with
/// warnings as errors, and the backend's layering.
fn static_checks() -> Result {
    run(Command::new("cargo").args(["fmt", "--all", "--check"]))?;
    run(Command::new("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    layers::check(&root())?;
    Ok(())
}

/// The inner loop: what `test` runs on the Rust code, without the release site, the browser
/// tests, infra linting or API fuzzing.
fn test_quick() -> Result {
    // rustfmt and clippy, and for the AWS adapters' contract tests moto and DynamoDB Local.
    tools::ensure_test_tools()?;
    static_checks()?;
    run(Command::new("cargo").args(["nextest", "run", "--workspace"]))?;
    eprintln!("xtask: the quick tests passed (no site, browser, infra or fuzz tests)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> std::result::Result<Task, String> {
        parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn test_takes_quick_and_nothing_else() {
        assert_eq!(parsed(&["test"]), Ok(Task::Test { quick: false }));
        assert_eq!(parsed(&["test", "--quick"]), Ok(Task::Test { quick: true }));
        let err = parsed(&["test", "--quik"]).unwrap_err();
        assert!(err.starts_with("unknown flag --quik for `test`"), "{err}");
        assert!(parsed(&["test", "--release"]).is_err());
    }

    #[test]
    fn other_commands_keep_their_flags() {
        assert_eq!(parsed(&["dev"]), Ok(Task::Dev { release: true }));
        assert_eq!(
            parsed(&["dev", "--release"]),
            Ok(Task::Dev { release: true })
        );
        assert_eq!(
            parsed(&["site", "--release"]),
            Ok(Task::Site { release: true })
        );
        assert_eq!(parsed(&["setup"]), Ok(Task::Setup));
        assert_eq!(parsed(&["layers"]), Ok(Task::Layers));
        assert!(parsed(&["setup", "--quick"]).is_err());
        assert_eq!(parsed(&[]), Err(USAGE.to_owned()));
        assert_eq!(parsed(&["deploy"]), Err(USAGE.to_owned()));
    }

    #[test]
    fn dev_serves_the_release_site_unless_asked_for_a_debug_one() {
        assert_eq!(parsed(&["dev"]), Ok(Task::Dev { release: true }));
        assert_eq!(
            parsed(&["dev", "--debug-site"]),
            Ok(Task::Dev { release: false })
        );
        assert!(parsed(&["site", "--debug-site"]).is_err());
    }
}
