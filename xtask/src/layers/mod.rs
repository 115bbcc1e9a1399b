//! The layering check: no import cycle between the backend's modules, and no import from an inner
//! layer to an outer one ([`LAYERS`], [`MAY_USE`]). It reads the `crate::…` paths in each module's
//! files (outside comments, strings and `#[cfg(test)]` modules), builds the graph of which module
//! uses which, and reports every cycle and every outward import with the lines that make it.
//!
//! A node is a top-level module of `backend/src`, or one level deeper under the modules in
//! [`SPLIT`] (`adapters::aws`, `routes::files`, …). Items of the crate root (`crate::router`,
//! `crate::AppState`) are the node `crate`, which only wiring may use.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use crate::Result;

mod scan;

use scan::crate_paths;

/// Modules whose children are nodes of their own.
const SPLIT: &[&str] = &["adapters", "routes"];

/// One `use` of another module: where it was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Edge {
    from: String,
    to: String,
    at: String,
}

/// Runs the check on `backend/src` under `root`.
pub fn check(root: &Path) -> Result {
    let src = root.join("backend/src");
    let modules = module_names(&src)?;
    let mut edges = Vec::new();
    for file in rust_files(&src)? {
        let rel = file
            .strip_prefix(&src)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let Some(from) = node_of_file(rel, &modules) else {
            continue;
        };
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("could not read {}: {e}", file.display()))?;
        for (line, path) in crate_paths(&text) {
            let to = node_of_path(&path, &modules);
            if to != from {
                edges.push(Edge {
                    from: from.clone(),
                    to,
                    at: format!("backend/src/{}:{line}", rel.display()),
                });
            }
        }
    }
    let mut report = String::new();
    let cycles = cycles(&edges);
    if !cycles.is_empty() {
        report.push_str("import cycles between backend modules:\n");
    }
    for cycle in &cycles {
        report.push_str(&format!("  {}\n", cycle.join(" -> ")));
        for pair in cycle.windows(2) {
            if let Some(edge) = edges.iter().find(|e| e.from == pair[0] && e.to == pair[1]) {
                report.push_str(&format!(
                    "    {} -> {} at {}\n",
                    edge.from, edge.to, edge.at
                ));
            }
        }
    }
    for problem in layer_violations(&edges, &modules) {
        report.push_str(&problem);
        report.push('\n');
    }
    if report.is_empty() {
        eprintln!("xtask: layering: no import cycle, every import points inwards");
        Ok(())
    } else {
        Err(report.trim_end().to_owned())
    }
}

/// The layers, inside out, and the top-level modules in each (docs/ARCHITECTURE.md explains
/// them). `crate` stands for the crate root's items (`crate::router`, `crate::AppState`).
const LAYERS: &[(&str, &[&str])] = &[
    ("domain", &["domain"]),
    ("ports", &["ports", "live_ports"]),
    (
        "plumbing",
        &["config", "work_gate", "rate_limit", "serve_loop", "site"],
    ),
    (
        "use cases",
        &[
            "event_context",
            "upload_events",
            "thumbnail",
            "file_objects",
            "live",
        ],
    ),
    ("api", &["error", "state", "auth", "routes", "crate"]),
    ("adapters", &["adapters"]),
    ("lambda", &["lambda"]),
    (
        "wiring",
        &["site_server", "local", "local_live", "aws_serve"],
    ),
];

/// Which layers each layer may import (besides itself).
const MAY_USE: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("ports", &["domain"]),
    ("plumbing", &["domain", "ports"]),
    ("use cases", &["domain", "ports", "plumbing"]),
    ("api", &["domain", "ports", "plumbing", "use cases"]),
    ("adapters", &["domain", "ports", "plumbing"]),
    (
        "lambda",
        &[
            "domain",
            "ports",
            "plumbing",
            "use cases",
            "api",
            "adapters",
        ],
    ),
    (
        "wiring",
        &[
            "domain",
            "ports",
            "plumbing",
            "use cases",
            "api",
            "adapters",
            "lambda",
        ],
    ),
];

fn layer_of(node: &str) -> Option<&'static str> {
    let top = node.split("::").next().unwrap_or(node);
    LAYERS
        .iter()
        .find(|(_, modules)| modules.contains(&top))
        .map(|(layer, _)| *layer)
}

/// Imports that point outwards, and modules no layer claims.
fn layer_violations(edges: &[Edge], modules: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for module in modules.iter().filter(|m| !m.contains("::")) {
        if layer_of(module).is_none() {
            problems.push(format!(
                "module {module} is in no layer: add it to LAYERS in xtask/src/layers.rs"
            ));
        }
    }
    for edge in edges {
        let (Some(from), Some(to)) = (layer_of(&edge.from), layer_of(&edge.to)) else {
            continue;
        };
        let allowed = MAY_USE
            .iter()
            .find(|(layer, _)| *layer == from)
            .is_some_and(|(_, may)| may.contains(&to));
        if from != to && !allowed {
            problems.push(format!(
                "{} ({from}) may not import {} ({to}): at {}",
                edge.from, edge.to, edge.at
            ));
        }
    }
    problems
}

/// The module tree's names: top-level modules, and `parent::child` for [`SPLIT`] parents.
fn module_names(src: &Path) -> Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for name in child_modules(src)? {
        if SPLIT.contains(&name.as_str()) {
            for child in child_modules(&src.join(&name))? {
                names.insert(format!("{name}::{child}"));
            }
        }
        names.insert(name);
    }
    Ok(names)
}

fn child_modules(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let module_dir = path.is_dir() && stem != "bin";
        let module_file =
            path.extension().is_some_and(|e| e == "rs") && !["mod", "lib"].contains(&stem);
        if module_dir || module_file {
            names.push(stem.to_owned());
        }
    }
    Ok(names)
}

fn rust_files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            files.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The node a file belongs to, from its path under `backend/src`; `None` for the crate root and
/// the binaries (they are the outermost wiring: nothing imports them).
fn node_of_file(rel: &Path, modules: &BTreeSet<String>) -> Option<String> {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| {
            let p = p.to_string_lossy();
            p.strip_suffix(".rs").unwrap_or(&p).to_owned()
        })
        .collect();
    match parts.first().map(String::as_str) {
        None | Some("lib" | "bin") => None,
        Some(_) => Some(node_of_path(&parts, modules)),
    }
}

/// The node a path from the crate root names: `["adapters", "aws", "sqs"]` is `adapters::aws`.
fn node_of_path(path: &[String], modules: &BTreeSet<String>) -> String {
    let Some(first) = path.first() else {
        return "crate".to_owned();
    };
    if !modules.contains(first) {
        return "crate".to_owned();
    }
    if let Some(second) = path.get(1) {
        let nested = format!("{first}::{second}");
        if modules.contains(&nested) {
            return nested;
        }
    }
    first.clone()
}

/// One cycle per strongly connected component of more than one node, as the shortest way round
/// from its first node: `["events", "thumbnail", "events"]`.
fn cycles(edges: &[Edge]) -> Vec<Vec<String>> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for edge in edges {
        graph.entry(&edge.from).or_default().insert(&edge.to);
        graph.entry(&edge.to).or_default();
    }
    let reach = |start: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([start.to_owned()]);
        while let Some(node) = queue.pop_front() {
            for &next in &graph[node.as_str()] {
                if seen.insert(next.to_owned()) {
                    queue.push_back(next.to_owned());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&str, BTreeSet<String>> =
        graph.keys().map(|&n| (n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut found = Vec::new();
    for &node in graph.keys() {
        if done.contains(node) || !reachable[node].contains(node) {
            continue;
        }
        let component: BTreeSet<&str> = graph
            .keys()
            .copied()
            .filter(|&m| reachable[node].contains(m) && reachable[m].contains(node))
            .collect();
        done.extend(component.iter().map(|s| s.to_string()));
        found.push(shortest_cycle(&graph, node, &component));
    }
    found
}

fn shortest_cycle(
    graph: &BTreeMap<&str, BTreeSet<&str>>,
    start: &str,
    component: &BTreeSet<&str>,
) -> Vec<String> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &next in &graph[node] {
            if !component.contains(next) {
                continue;
            }
            if next == start {
                let mut path = vec![start.to_owned()];
                let mut at = node;
                while at != start {
                    path.push(at.to_owned());
                    at = came_from[at];
                }
                path.push(start.to_owned());
                path.reverse();
                return path;
            }
            if !came_from.contains_key(next) {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    vec![start.to_owned(), start.to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(source: &str) -> Vec<String> {
        crate_paths(source)
            .into_iter()
            .map(|(line, p)| format!("{line}:{}", p.join("::")))
            .collect()
    }

    #[test]
    fn reads_plain_grouped_and_inline_paths() {
        let source = "use crate::upload_events::EventContext;\n\
                      use crate::{adapters::{aws::X, s3}, ports::*};\n\
                      fn f() { crate::thumbnail::create(x); let y = crate::router(s); }\n";
        assert_eq!(
            paths(source),
            [
                "1:upload_events::EventContext",
                "2:adapters::aws",
                "2:adapters::s3",
                "2:ports",
                "3:thumbnail::create",
                "3:router"
            ]
        );
    }

    #[test]
    fn ignores_comments_strings_chars_and_test_modules() {
        let source = r###"//! See [`x`](crate::upload_events::Outcome).
/* crate::a::b /* nested crate::c */ crate::d */
const S: &str = "crate::e::f \" crate::g";
const R: &str = r#"crate::h "quoted" crate::i"#;
fn f<'a>(c: char) -> bool { c == '"' || c == '\'' }
use crate::ports::Clock;
#[cfg(test)]
mod tests {
    use crate::adapters::local::Thing;
    fn g() { let _ = "}"; }
}
use crate::domain::FileId as Id;
"###;
        assert_eq!(paths(source), ["6:ports::Clock", "12:domain::FileId"]);
    }

    #[test]
    fn other_crates_paths_are_not_this_crates() {
        assert!(paths("use ferry_api::crate_name; let x = other::crate::y;").is_empty());
    }

    fn modules() -> BTreeSet<String> {
        [
            "adapters",
            "adapters::aws",
            "upload_events",
            "lambda",
            "routes",
            "routes::files",
        ]
        .map(String::from)
        .into()
    }

    #[test]
    fn files_and_paths_map_to_nodes() {
        let m = modules();
        let node = |p: &str| node_of_file(Path::new(p), &m);
        assert_eq!(node("upload_events.rs").as_deref(), Some("upload_events"));
        assert_eq!(
            node("adapters/aws/dynamodb/items.rs").as_deref(),
            Some("adapters::aws")
        );
        assert_eq!(node("adapters/mod.rs").as_deref(), Some("adapters"));
        assert_eq!(node("lambda/events_function.rs").as_deref(), Some("lambda"));
        assert_eq!(node("lib.rs"), None);
        assert_eq!(node("bin/ferry.rs"), None);
        let path =
            |p: &[&str]| node_of_path(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &m);
        assert_eq!(path(&["routes", "files"]), "routes::files");
        assert_eq!(path(&["routes", "MAX_BODY_BYTES"]), "routes");
        assert_eq!(path(&["AppState"]), "crate");
    }

    fn edge(from: &str, to: &str) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            at: String::new(),
        }
    }

    #[test]
    fn finds_each_cycle_once_and_no_cycle_in_a_dag() {
        let dag = [
            edge("routes", "ports"),
            edge("adapters", "ports"),
            edge("ports", "domain"),
        ];
        assert!(cycles(&dag).is_empty());
        let cyclic = [
            edge("upload_events", "thumbnail"),
            edge("thumbnail", "upload_events"),
            edge("adapters::aws", "lambda"),
            edge("lambda", "upload_events"),
            edge("lambda", "routes"),
            edge("routes", "adapters::aws"),
            edge("adapters::aws", "domain"),
        ];
        assert_eq!(
            cycles(&cyclic),
            [
                vec!["adapters::aws", "lambda", "routes", "adapters::aws"],
                vec!["thumbnail", "upload_events", "thumbnail"],
            ]
        );
    }

    #[test]
    fn check_reports_a_cycle_with_its_lines_and_passes_without_it() {
        let root = std::env::temp_dir().join(format!("xtask-layers-{}", std::process::id()));
        let src = root.join("backend/src");
        std::fs::create_dir_all(src.join("routes")).unwrap();
        let write = |name: &str, text: &str| std::fs::write(src.join(name), text).unwrap();
        write(
            "lib.rs",
            "pub mod upload_events;\npub mod thumbnail;\npub mod routes;\n",
        );
        write(
            "upload_events.rs",
            "//! Upload events.\nuse crate::domain::X;\nfn f() { crate::thumbnail::make(); }\n",
        );
        write("thumbnail.rs", "use crate::upload_events::EventContext;\n");
        write("domain.rs", "");
        write("routes/mod.rs", "mod files;\n");
        write("routes/files.rs", "use crate::upload_events::settle;\n");
        let err = check(&root).unwrap_err();
        assert!(
            err.contains("  thumbnail -> upload_events -> thumbnail\n"),
            "{err}"
        );
        assert!(
            err.contains("upload_events -> thumbnail at backend/src/upload_events.rs:3"),
            "{err}"
        );
        assert!(
            err.contains("thumbnail -> upload_events at backend/src/thumbnail.rs:1"),
            "{err}"
        );
        write("thumbnail.rs", "use crate::domain::X;\n");
        let outcome = check(&root);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(outcome, Ok(()));
    }

    #[test]
    fn an_outward_import_and_an_unplaced_module_are_reported() {
        let m: BTreeSet<String> = [
            "adapters",
            "adapters::aws",
            "state",
            "upload_events",
            "newthing",
        ]
        .map(String::from)
        .into();
        let mut aws_state = edge("adapters::aws", "state");
        aws_state.at = "backend/src/adapters/aws/mod.rs:26".into();
        let problems = layer_violations(
            &[
                aws_state,
                edge("state", "upload_events"),
                edge("upload_events", "upload_events"),
            ],
            &m,
        );
        assert_eq!(
            problems,
            [
                "module newthing is in no layer: add it to LAYERS in xtask/src/layers.rs",
                "adapters::aws (adapters) may not import state (api): \
                 at backend/src/adapters/aws/mod.rs:26",
            ]
        );
    }

    #[test]
    fn every_layer_has_its_rules() {
        for (layer, _) in LAYERS {
            assert!(MAY_USE.iter().any(|(l, _)| l == layer), "{layer}");
        }
    }
}
