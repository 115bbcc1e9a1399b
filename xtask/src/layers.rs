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
    ("ports", &["ports"]),
    ("plumbing", &["config", "work_gate", "serve_loop", "site"]),
    (
        "use cases",
        &["event_context", "events", "thumbnail", "file_objects"],
    ),
    ("api", &["error", "state", "auth", "routes", "crate"]),
    ("adapters", &["adapters"]),
    ("lambda", &["lambda"]),
    ("wiring", &["local", "aws_serve"]),
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

/// Every `crate::…` path in `source` with its line, each cut to its first two segments;
/// grouped imports (`crate::{a::b, c}`) give one path per branch.
fn crate_paths(source: &str) -> Vec<(usize, Vec<String>)> {
    let code = without_tests(&code_only(source));
    let tokens = tokens(&code);
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let prev_is_path = i > 0 && tokens[i - 1].text == "::";
        if tokens[i].text == "crate"
            && !prev_is_path
            && tokens.get(i + 1).is_some_and(|t| t.text == "::")
        {
            let mut paths = Vec::new();
            i = use_tree(&tokens, i + 2, Vec::new(), &mut paths);
            found.extend(paths);
        } else {
            i += 1;
        }
    }
    found
}

/// Parses one use tree at `i` (`a::b::C`, `a::{b, c::d}`, `*`) below `prefix`; returns the index
/// after it.
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<(usize, Vec<String>)>,
) -> usize {
    let line = tokens.get(i).map_or(0, |t| t.line);
    loop {
        match tokens.get(i).map(|t| t.text.as_str()) {
            Some("{") => {
                i += 1;
                loop {
                    match tokens.get(i).map(|t| t.text.as_str()) {
                        None => return i,
                        Some("}") => return i + 1,
                        Some(",") => i += 1,
                        Some(_) => {
                            let next = use_tree(tokens, i, prefix.clone(), out);
                            i = next.max(i + 1);
                        }
                    }
                }
            }
            Some(word) if is_ident(word) => {
                if prefix.len() < 2 {
                    prefix.push(word.to_owned());
                }
                i += 1;
                if tokens.get(i).is_some_and(|t| t.text == "::") {
                    i += 1;
                    continue;
                }
            }
            Some("*") => i += 1,
            _ => {}
        }
        if !prefix.is_empty() {
            out.push((line, prefix));
        }
        // Skip an `as name` rename so the caller sees the next `,` or `}`.
        if tokens.get(i).is_some_and(|t| t.text == "as") {
            i += 2;
        }
        return i;
    }
}

fn is_ident(word: &str) -> bool {
    word.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

#[derive(Debug)]
struct Token {
    text: String,
    line: usize,
}

/// Identifiers, `::` and single punctuation characters, with their line numbers.
fn tokens(code: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token {
                text: chars[start..i].iter().collect(),
                line,
            });
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push(Token {
                text: "::".into(),
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                text: c.to_string(),
                line,
            });
            i += 1;
        }
    }
    out
}

/// `source` with comments, string and char literals blanked out (newlines kept, so line numbers
/// stay right).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"…", r#"…"#, br#"…"#: ends at a quote followed by the same number of hashes.
            let mut j = i + hashes.1;
            let closing: String = std::iter::once('"')
                .chain("#".repeat(hashes.0).chars())
                .collect();
            let closing: Vec<char> = closing.chars().collect();
            while j < chars.len() && !chars[j..].starts_with(&closing) {
                blank(&mut out, chars[j]);
                j += 1;
            }
            i = j + closing.len();
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    blank(&mut out, ch);
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a: no closing quote).
            let end = if next == Some('\\') {
                // The escaped character itself may be a quote: the closing one comes after it.
                chars
                    .get(i + 3..)
                    .and_then(|rest| rest.iter().position(|&ch| ch == '\''))
                    .map(|p| i + 3 + p)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => i = end + 1,
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// At a raw string literal's start: its number of `#`s and the length of its opening.
fn raw_string_start(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if prev_ident {
        return None;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    j += hashes;
    (chars.get(j) == Some(&'"')).then_some((hashes, j + 1 - i))
}

/// `code` with every `#[cfg(test)]` module's body blanked: tests may reach across layers.
fn without_tests(code: &str) -> String {
    let mut out = code.to_owned();
    let mut from = 0;
    while let Some(pos) = out[from..].find("#[cfg(test)]") {
        let attr = from + pos;
        let after = attr + "#[cfg(test)]".len();
        let rest = out[after..].trim_start();
        from = after;
        if !(rest.starts_with("mod ") || rest.starts_with("pub mod ")) {
            continue;
        }
        let Some(open) = out[after..].find(['{', ';']).map(|p| after + p) else {
            break;
        };
        if out.as_bytes()[open] == b';' {
            continue;
        }
        let mut depth = 0;
        let mut end = out.len();
        for (k, b) in out.bytes().enumerate().skip(open) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        let blanked: String = out[attr..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        out.replace_range(attr..end, &blanked);
        from = attr + blanked.len();
    }
    out
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
        let source = "use crate::events::EventContext;\n\
                      use crate::{adapters::{aws::X, s3}, ports::*};\n\
                      fn f() { crate::thumbnail::create(x); let y = crate::router(s); }\n";
        assert_eq!(
            paths(source),
            [
                "1:events::EventContext",
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
        let source = r###"//! See [`x`](crate::events::Outcome).
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
            "events",
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
        assert_eq!(node("events.rs").as_deref(), Some("events"));
        assert_eq!(
            node("adapters/aws/dynamodb/items.rs").as_deref(),
            Some("adapters::aws")
        );
        assert_eq!(node("adapters/mod.rs").as_deref(), Some("adapters"));
        assert_eq!(node("lambda/events.rs").as_deref(), Some("lambda"));
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
            edge("events", "thumbnail"),
            edge("thumbnail", "events"),
            edge("adapters::aws", "lambda"),
            edge("lambda", "events"),
            edge("lambda", "routes"),
            edge("routes", "adapters::aws"),
            edge("adapters::aws", "domain"),
        ];
        assert_eq!(
            cycles(&cyclic),
            [
                vec!["adapters::aws", "lambda", "routes", "adapters::aws"],
                vec!["events", "thumbnail", "events"],
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
            "pub mod events;\npub mod thumbnail;\npub mod routes;\n",
        );
        write(
            "events.rs",
            "//! Events.\nuse crate::domain::X;\nfn f() { crate::thumbnail::make(); }\n",
        );
        write("thumbnail.rs", "use crate::events::EventContext;\n");
        write("domain.rs", "");
        write("routes/mod.rs", "mod files;\n");
        write("routes/files.rs", "use crate::events::settle;\n");
        let err = check(&root).unwrap_err();
        assert!(err.contains("  events -> thumbnail -> events\n"), "{err}");
        assert!(
            err.contains("events -> thumbnail at backend/src/events.rs:3"),
            "{err}"
        );
        assert!(
            err.contains("thumbnail -> events at backend/src/thumbnail.rs:1"),
            "{err}"
        );
        write("thumbnail.rs", "use crate::domain::X;\n");
        let outcome = check(&root);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(outcome, Ok(()));
    }

    #[test]
    fn an_outward_import_and_an_unplaced_module_are_reported() {
        let m: BTreeSet<String> = ["adapters", "adapters::aws", "state", "events", "newthing"]
            .map(String::from)
            .into();
        let mut aws_state = edge("adapters::aws", "state");
        aws_state.at = "backend/src/adapters/aws/mod.rs:26".into();
        let problems = layer_violations(
            &[aws_state, edge("state", "events"), edge("events", "events")],
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
