//! The module graph has no cycle between domains.
//!
//! Reads the crate's sources, builds the graph of which module names which
//! (`crate::…`, `super::…`, `self::…` and child-module paths, with `use` groups
//! expanded and re-exports followed to the module that defines the item), and
//! fails naming the cycle when modules of different domains (the top-level
//! files and folders under `src/`) reach each other. Comments, string
//! literals and `#[cfg(test)]` modules do not count.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// Edges that may close a cycle for now; each one is a debt, and the test
/// fails once it is gone so that the list only shrinks.
const KNOWN_CYCLE_EDGES: &[(&str, &str)] = &[];

/// A module path (`auth::cache`); the crate root is the empty path.
type Module = Vec<String>;

/// A path's segments as written (`super`, `model`, `TaskRow`).
type Segments = Vec<String>;

/// A re-exported name and the path it comes from, as written.
type Reexport = (String, Segments);

/// What one source file says about the module graph.
struct ModuleSource {
    module: Module,
    /// Every path the file names from inside the crate (use groups expanded).
    paths: Vec<Segments>,
    /// Names the module re-exports.
    reexports: Vec<Reexport>,
}

/// Modules and who names whom, edges to the module that defines what is named.
struct ModuleGraph {
    edges: BTreeMap<String, BTreeSet<String>>,
}

/// `src/auth/cache.rs` → `auth::cache`, `src/auth/mod.rs` → `auth`, `src/lib.rs` → the
/// root; `src/main.rs` is the binary, which uses the crate from outside.
fn module_of(relative: &Path) -> Option<Module> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop()?.strip_suffix(".rs")?.to_owned();
    if parts.is_empty() && file == "main" {
        return None;
    }
    if parts.is_empty() && file == "lib" {
        return Some(Vec::new());
    }
    if file != "mod" {
        parts.push(file);
    }
    Some(parts)
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The source with comments and the contents of string and char literals
/// replaced by spaces (lines kept), so only code is left to read paths from.
fn blank_comments_and_literals(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"' | '#')) && starts_literal(&chars, i) {
            // A raw string: r"…", r#"…"#, with as many hashes closing as opening.
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            out.extend(std::iter::repeat_n(' ', j - i + 1));
            i = j + 1;
            while i < chars.len() {
                if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A char literal ('x', '\n', '\''); a lifetime ('a) has no closing quote.
            out.push(' ');
            i += 1;
            if chars.get(i) == Some(&'\\') {
                // The escaped character may be a quote.
                out.push_str("  ");
                i += 2;
            }
            while i < chars.len() && chars[i] != '\'' {
                out.push(' ');
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// True when the `r` at `at` opens a raw string (`r"`, `br"`), not the end of a name (`bar"`).
fn starts_literal(chars: &[char], at: usize) -> bool {
    let ends_ident = |at: usize| at > 0 && is_ident_char(chars[at - 1]);
    !ends_ident(at) || (chars[at - 1] == 'b' && !ends_ident(at - 1))
}

/// The source without `#[cfg(test)]` modules (inline ones are blanked), and
/// the names of the test modules it declares in files of their own.
fn without_test_modules(code: &str) -> (String, Vec<String>) {
    let mut code = code.to_owned();
    let mut test_children = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find("#[cfg(test)]") {
        let start = from + found;
        let mut rest = start + "#[cfg(test)]".len();
        // Further attributes (`#[path = …]`) may come between.
        loop {
            let trimmed = code[rest..].trim_start();
            rest = code.len() - trimmed.len();
            if trimmed.starts_with("#[") {
                match trimmed.find(']') {
                    Some(end) => rest += end + 1,
                    None => break,
                }
            } else {
                break;
            }
        }
        let item = code[rest..].trim_start();
        let item_start = code.len() - item.len();
        let after_mod = item
            .strip_prefix("pub(crate) mod ")
            .or_else(|| item.strip_prefix("pub mod "))
            .or_else(|| item.strip_prefix("mod "));
        let Some(after_mod) = after_mod else {
            from = rest;
            continue;
        };
        let name: String = after_mod
            .chars()
            .take_while(|c| is_ident_char(*c))
            .collect();
        let after_name = after_mod[name.len()..].trim_start();
        if after_name.starts_with(';') {
            test_children.push(name);
            from = rest;
        } else if after_name.starts_with('{') {
            let open = code.len() - after_name.len();
            let end = matching_brace(&code, open).unwrap_or(code.len());
            let blanked: String = code[start..end]
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' })
                .collect();
            code.replace_range(start..end, &blanked);
            from = start + blanked.len();
        } else {
            from = item_start;
        }
    }
    (code, test_children)
}

/// The index just past the brace that closes the one at `open`.
fn matching_brace(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (offset, c) in code[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + offset + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The child modules a file declares (`mod name;`, `pub mod name;`).
fn declared_children(code: &str) -> Vec<String> {
    let tokens = tokens(code);
    tokens
        .windows(3)
        .filter(|window| window[0] == "mod" && window[2] == ";")
        .map(|window| window[1].clone())
        .collect()
}

/// Identifiers and single punctuation characters, `::` kept as one token.
fn tokens(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if is_ident_char(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push("::".to_owned());
            i += 2;
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    tokens
}

/// Reads one path (or use tree) starting at `tokens[at]`; pushes every full
/// path it names onto `out` and returns the index after it.
fn read_path(tokens: &[String], at: usize, prefix: &[String], out: &mut Vec<Segments>) -> usize {
    let mut segments = prefix.to_vec();
    let mut i = at;
    loop {
        match tokens.get(i).map(String::as_str) {
            Some("{") => {
                i += 1;
                while i < tokens.len() && tokens[i] != "}" {
                    if tokens[i] == "," {
                        i += 1;
                        continue;
                    }
                    i = read_path(tokens, i, &segments, out);
                    // An alias (`as name`) names nothing new.
                    if tokens.get(i).map(String::as_str) == Some("as") {
                        i += 2;
                    }
                }
                return i + 1;
            }
            Some(token) if token.chars().all(is_ident_char) && token != "as" => {
                if token != "self" || segments.is_empty() {
                    segments.push(token.to_owned());
                }
                i += 1;
                if tokens.get(i).map(String::as_str) == Some("::") {
                    i += 1;
                    continue;
                }
                break;
            }
            _ => break,
        }
    }
    out.push(segments);
    i
}

/// Every path the code names through `crate`, `super`, `self` or one of
/// `children`, and every re-export (`pub use …`) with the path it comes from.
fn paths_and_reexports(code: &str, children: &[String]) -> (Vec<Segments>, Vec<Reexport>) {
    let tokens = tokens(code);
    let mut paths = Vec::new();
    let mut reexports = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].as_str();
        let starts_path = matches!(token, "crate" | "super" | "self")
            || children.iter().any(|child| child == token);
        let continues_path = i > 0 && tokens[i - 1] == "::";
        if starts_path && !continues_path && tokens.get(i + 1).map(String::as_str) == Some("::") {
            let mut found = Vec::new();
            let end = read_path(&tokens, i, &[], &mut found);
            if is_reexport(&tokens, i) {
                for path in &found {
                    if let Some(name) = path.last() {
                        reexports.push((name.clone(), path.clone()));
                    }
                }
            }
            paths.extend(found);
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    (paths, reexports)
}

/// True when the path at `at` follows `pub use` (or `pub(crate) use`).
fn is_reexport(tokens: &[String], at: usize) -> bool {
    if at < 2 || tokens[at - 1] != "use" {
        return false;
    }
    tokens[at - 2] == "pub" || (at >= 5 && tokens[at - 2] == ")" && tokens[at - 5] == "pub")
}

impl ModuleSource {
    fn parse(module: Module, source: &str) -> (Self, Vec<String>) {
        let code = blank_comments_and_literals(source);
        let (code, test_children) = without_test_modules(&code);
        let children = declared_children(&code);
        let (paths, reexports) = paths_and_reexports(&code, &children);
        let source = Self {
            module,
            paths,
            reexports,
        };
        (source, test_children)
    }

    /// `path` as written here, from the crate root.
    fn absolute(&self, path: &[String]) -> Option<Segments> {
        let (first, rest) = path.split_first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.module.clone(),
            "super" => {
                let mut base = self.module.clone();
                base.pop()?;
                base
            }
            _ => {
                let mut base = self.module.clone();
                base.push(first.clone());
                base
            }
        };
        let mut rest = rest;
        while rest.first().is_some_and(|segment| segment == "super") {
            base.pop()?;
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }
}

impl ModuleGraph {
    /// The graph of the crate's sources `(path under src/, text)`; files of
    /// `#[cfg(test)]` modules are left out.
    fn build(files: &[(String, String)]) -> Self {
        let mut sources = Vec::new();
        let mut test_modules = BTreeSet::new();
        for (path, text) in files {
            let Some(module) = module_of(Path::new(path)) else {
                continue;
            };
            let (source, test_children) = ModuleSource::parse(module.clone(), text);
            for child in test_children {
                let mut test_module = module.clone();
                test_module.push(child);
                test_modules.insert(test_module);
            }
            sources.push(source);
        }
        sources.retain(|source| {
            !(1..=source.module.len()).any(|len| test_modules.contains(&source.module[..len]))
        });
        let modules: BTreeSet<Module> = sources.iter().map(|s| s.module.clone()).collect();
        let reexports: BTreeMap<Module, BTreeMap<String, Segments>> = sources
            .iter()
            .map(|source| {
                let names = source
                    .reexports
                    .iter()
                    .filter_map(|(name, path)| Some((name.clone(), source.absolute(path)?)))
                    .collect();
                (source.module.clone(), names)
            })
            .collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for source in sources.iter().filter(|source| !source.module.is_empty()) {
            let from = source.module.join("::");
            let targets = edges.entry(from.clone()).or_default();
            for path in &source.paths {
                let Some(absolute) = source.absolute(path) else {
                    continue;
                };
                if let Some(target) = defining_module(&modules, &reexports, absolute) {
                    let target = target.join("::");
                    if !target.is_empty() && target != from {
                        targets.insert(target);
                    }
                }
            }
        }
        Self { edges }
    }

    /// The graph of the crate this test is compiled in.
    fn of_this_crate() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("reading src/") {
                let path = entry.expect("reading src/").path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|ext| ext == "rs") {
                    let relative = path.strip_prefix(&root).expect("under src/");
                    let text = std::fs::read_to_string(&path).expect("reading a source file");
                    files.push((relative.to_string_lossy().into_owned(), text));
                }
            }
        }
        assert!(files.len() > 50, "found only {} source files", files.len());
        Self::build(&files)
    }

    /// Sets of modules of more than one domain that all reach each other,
    /// each as one cycle through them, once `allowed` edges are taken out.
    fn cycles_between_domains(&self, allowed: &[(&str, &str)]) -> Vec<Vec<String>> {
        let mut edges = self.edges.clone();
        for (from, to) in allowed {
            if let Some(targets) = edges.get_mut(*from) {
                targets.remove(*to);
            }
        }
        strongly_connected(&edges)
            .into_iter()
            .filter(|component| {
                let domains: BTreeSet<&str> = component
                    .iter()
                    .map(|module| module.split("::").next().unwrap_or_default())
                    .collect();
                domains.len() > 1
            })
            .map(|component| cycle_through(&edges, &component))
            .collect()
    }
}

/// The module that defines what `path` names: the longest module prefix of
/// it, after following the re-exports of the modules on the way.
fn defining_module(
    modules: &BTreeSet<Module>,
    reexports: &BTreeMap<Module, BTreeMap<String, Segments>>,
    mut path: Segments,
) -> Option<Module> {
    // Re-exports do not chain deeper than this in a sane crate.
    for _ in 0..8 {
        let known = (0..=path.len())
            .rev()
            .find(|&len| len == 0 || modules.contains(&path[..len]))?;
        let module = path[..known].to_vec();
        let followed = path
            .get(known)
            .and_then(|name| reexports.get(&module)?.get(name));
        match followed {
            Some(origin) if origin.as_slice() != path.as_slice() => {
                let mut next = origin.clone();
                next.extend(path[known + 1..].iter().cloned());
                path = next;
            }
            _ => return Some(module),
        }
    }
    None
}

/// Tarjan's strongly connected components of more than one module.
fn strongly_connected(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a str) {
            let number = self.index.len();
            self.index.insert(node, number);
            self.low.insert(node, number);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.edges.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    component.push(member.to_owned());
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

/// A shortest cycle from the first module of `component` back to it, inside it.
fn cycle_through(edges: &BTreeMap<String, BTreeSet<String>>, component: &[String]) -> Vec<String> {
    let start = &component[0];
    let inside: BTreeSet<&String> = component.iter().collect();
    let mut came_from: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in edges.get(node).into_iter().flatten() {
            if !inside.contains(next) {
                continue;
            }
            if next == start {
                let mut cycle = vec![node.clone()];
                let mut at = node;
                while let Some(previous) = came_from.get(at) {
                    cycle.push((*previous).clone());
                    at = previous;
                }
                cycle.reverse();
                cycle.push(start.clone());
                return cycle;
            }
            if next != start && !came_from.contains_key(next) {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    component.to_vec()
}

#[test]
fn no_cycle_between_domains() {
    let graph = ModuleGraph::of_this_crate();
    let cycles = graph.cycles_between_domains(KNOWN_CYCLE_EDGES);
    let named: Vec<String> = cycles.iter().map(|cycle| cycle.join(" → ")).collect();
    assert!(
        named.is_empty(),
        "modules of different domains form a cycle (move what both need to one side):\n{}",
        named.join("\n")
    );
    for (from, to) in KNOWN_CYCLE_EDGES {
        assert!(
            graph
                .edges
                .get(*from)
                .is_some_and(|targets| targets.contains(*to)),
            "{from} no longer uses {to}: take the edge out of KNOWN_CYCLE_EDGES"
        );
    }
}

fn graph(files: &[(&str, &str)]) -> ModuleGraph {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect();
    ModuleGraph::build(&files)
}

fn targets(graph: &ModuleGraph, module: &str) -> Vec<String> {
    graph.edges[module].iter().cloned().collect()
}

#[test]
fn paths_groups_super_and_children_are_edges() {
    let graph = graph(&[
        ("lib.rs", "pub mod a; pub mod b; pub use a::Thing;"),
        (
            "a/mod.rs",
            "pub mod inner;\nuse inner::X;\npub struct Thing;",
        ),
        (
            "a/inner.rs",
            "use super::super::b::{self, deep::{Y, Z as W}};",
        ),
        (
            "b/mod.rs",
            "pub mod deep;\nfn f() -> crate::Thing { self::deep::g() }",
        ),
        ("b/deep.rs", "pub fn g() {}"),
    ]);
    assert_eq!(targets(&graph, "a"), ["a::inner"]);
    assert_eq!(targets(&graph, "a::inner"), ["b", "b::deep"]);
    // `crate::Thing` is defined in `a`, whatever re-exports it.
    assert_eq!(targets(&graph, "b"), ["a", "b::deep"]);
}

#[test]
fn comments_literals_and_test_modules_are_not_edges() {
    let graph = graph(&[
        ("lib.rs", "pub mod a; pub mod b;"),
        (
            "a.rs",
            "// crate::b::X\n/* crate::b /* nested */ crate::b */\n\
             const S: &str = \"crate::b::Y\"; const R: &str = r#\"crate::b\"#;\n\
             fn f<'a>(x: &'a str) -> char { 'c' }\n\
             #[cfg(test)]\nmod tests { use crate::b::Z; }\n\
             #[cfg(test)]\n#[path = \"elsewhere.rs\"]\nmod helper;",
        ),
        ("a/helper.rs", "use crate::b::H;"),
        ("b.rs", "use crate::a::A;"),
    ]);
    assert!(targets(&graph, "a").is_empty());
    assert!(!graph.edges.contains_key("a::helper"));
    assert!(graph.cycles_between_domains(&[]).is_empty());
}

#[test]
fn a_cycle_between_domains_is_named_and_an_allowed_edge_breaks_it() {
    let graph = graph(&[
        ("lib.rs", "pub mod app; pub mod auth; pub mod cases;"),
        ("app.rs", "use crate::auth::cache::Cache;"),
        ("auth/mod.rs", "pub mod cache; pub mod session;"),
        ("auth/cache.rs", "use super::session::Viewer;"),
        ("auth/session.rs", "fn f(app: &crate::app::App) {}"),
        ("cases/mod.rs", "pub mod a; pub mod b;"),
        ("cases/a.rs", "use super::b::B;"),
        ("cases/b.rs", "use super::a::A;"),
    ]);
    assert_eq!(
        graph.cycles_between_domains(&[]),
        [["app", "auth::cache", "auth::session", "app"]]
    );
    assert!(graph
        .cycles_between_domains(&[("auth::session", "app")])
        .is_empty());
}
