//! The module import graph of `src/` (the library, not `src/bin`) has no cycle.
//!
//! Each file is one node, named by its module path (`crate`, `creds`, `creds::roots`, ...). An edge
//! goes from a file to each file whose module it refers to: in `use` lines (brace groups expanded)
//! and in inline paths (`crate::provider::sign::load(..)`, `super::approved`). A path is resolved to
//! the longest module prefix it names; a name re-exported or imported there (`crate::Error`, which
//! lib.rs imports from `error`) is followed to where it comes from. A `mod x;` line is not an import,
//! and nothing inside comments, doc comments or string literals counts. Inline modules (`mod tests`)
//! belong to their file, and their `super::` is resolved from where they are.
//!
//! Every cycle fails the test, named. The test also checks that the parse found arrows it must
//! (so an empty graph cannot pass).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module path, e.g. `["creds", "roots"]`; the crate root is empty.
type ModPath = Vec<String>;
/// File-level graph: module of a file → modules of the files it refers to.
type Graph = BTreeMap<String, BTreeSet<String>>;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

// === lexing ===

/// Identifiers, `::` and punctuation; comments, strings and char literals are dropped.
fn lex(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if i >= c.len() {
                    break;
                } else if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == '"' || ((ch == 'b' || ch == 'r') && raw_or_byte_string(&c, i).is_some()) {
            i = skip_string(&c, i);
        } else if ch == '\'' {
            // A char literal ('a', '\n', '\u{..}') or a lifetime ('a, 'static).
            if at(i + 1) == '\\' {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            toks.push(Tok::Ident(c[start..i].iter().collect()));
        } else if ch == ':' && at(i + 1) == ':' {
            toks.push(Tok::PathSep);
            i += 2;
        } else {
            toks.push(Tok::Punct(ch));
            i += 1;
        }
    }
    toks
}

/// At `i`, the number of `#` of a raw string (`r"`, `r#"`, `br"`) or 0 for a byte string (`b"`).
fn raw_or_byte_string(c: &[char], i: usize) -> Option<usize> {
    if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') {
        return None; // inside an identifier, e.g. `br` in `abr"`
    }
    let mut j = i;
    if c.get(j) == Some(&'b') {
        j += 1;
    }
    let raw = c.get(j) == Some(&'r');
    if raw {
        j += 1;
    }
    let mut hashes = 0;
    while raw && c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (c.get(j) == Some(&'"') && j > i).then_some(hashes)
}

/// Skips the string literal starting at `i`; returns the index after it.
fn skip_string(c: &[char], mut i: usize) -> usize {
    let raw = c[i] == 'r' || (c[i] == 'b' && c.get(i + 1) == Some(&'r'));
    let hashes = if c[i] == '"' {
        0
    } else {
        raw_or_byte_string(c, i).unwrap_or(0)
    };
    while c[i] != '"' {
        i += 1;
    }
    i += 1;
    while i < c.len() {
        if !raw && c[i] == '\\' {
            i += 2;
            continue;
        }
        if c[i] == '"'
            && c[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&x| x == '#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

// === parsing ===

/// What one file says: its inline modules, and each path it refers to, from which module.
#[derive(Default)]
struct FileRefs {
    inline_mods: Vec<ModPath>,
    /// (the module the reference is in, the path as written, `Some(name)` if a `use` binds it).
    refs: Vec<(ModPath, Vec<String>, Option<String>)>,
}

fn parse_file(module: &ModPath, src: &str) -> FileRefs {
    let toks = lex(src);
    let mut out = FileRefs::default();
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let ident = |i: usize| match toks.get(i) {
        Some(Tok::Ident(s)) => Some(s.as_str()),
        _ => None,
    };
    while i < toks.len() {
        let here: ModPath = module
            .iter()
            .cloned()
            .chain(stack.iter().map(|(n, _)| n.clone()))
            .collect();
        match &toks[i] {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if stack.last().is_some_and(|&(_, d)| d == depth) {
                    stack.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some(name), Some(Tok::Punct('{'))) = (ident(i + 1), toks.get(i + 2)) {
                    let mut inline = here.clone();
                    inline.push(name.to_string());
                    out.inline_mods.push(inline);
                    stack.push((name.to_string(), depth + 1));
                }
            }
            Tok::Ident(kw) if kw == "use" => {
                let end = toks[i..]
                    .iter()
                    .position(|t| *t == Tok::Punct(';'))
                    .map_or(toks.len(), |p| i + p);
                let mut j = i + 1;
                for (path, bound) in use_tree(&toks[..end], &mut j, Vec::new()) {
                    out.refs.push((here.clone(), path, bound));
                }
                i = end;
                continue;
            }
            Tok::Ident(first) if toks.get(i + 1) == Some(&Tok::PathSep) => {
                let after_sep = i == 0 || toks[i - 1] != Tok::PathSep;
                if after_sep {
                    let mut path = vec![first.clone()];
                    let mut j = i + 1;
                    while toks.get(j) == Some(&Tok::PathSep) {
                        match ident(j + 1) {
                            Some(seg) => path.push(seg.to_string()),
                            None => break,
                        }
                        j += 2;
                    }
                    out.refs.push((here.clone(), path, None));
                    i = j;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Expands a use tree into paths, each with the name it binds (`None` for a glob).
fn use_tree(
    toks: &[Tok],
    j: &mut usize,
    prefix: Vec<String>,
) -> Vec<(Vec<String>, Option<String>)> {
    let mut path = prefix;
    let mut out = Vec::new();
    if toks.get(*j) == Some(&Tok::PathSep) {
        *j += 1; // `use ::extern_crate::..`
        return out;
    }
    loop {
        match toks.get(*j) {
            Some(Tok::Punct('{')) => {
                *j += 1;
                while *j < toks.len() && toks[*j] != Tok::Punct('}') {
                    out.extend(use_tree(toks, j, path.clone()));
                    if toks.get(*j) == Some(&Tok::Punct(',')) {
                        *j += 1;
                    }
                }
                *j += 1;
                return out;
            }
            Some(Tok::Punct('*')) => {
                *j += 1;
                out.push((path, None));
                return out;
            }
            Some(Tok::Ident(seg)) => {
                *j += 1;
                if toks.get(*j) == Some(&Tok::PathSep) {
                    path.push(seg.clone());
                    *j += 1;
                    continue;
                }
                let mut bound = seg.clone();
                if seg != "self" {
                    path.push(seg.clone());
                } else if let Some(last) = path.last() {
                    bound = last.clone();
                }
                if let (Some(Tok::Ident(kw)), Some(Tok::Ident(alias))) =
                    (toks.get(*j), toks.get(*j + 1))
                {
                    if kw == "as" {
                        bound = alias.clone();
                        *j += 2;
                    }
                }
                out.push((path, Some(bound)));
                return out;
            }
            _ => {
                // `pub`/`pub(crate)` before `use` never reach here; anything else ends the tree.
                return out;
            }
        }
    }
}

// === the graph ===

fn module_of(file: &str) -> ModPath {
    let file = file.strip_suffix(".rs").expect("a .rs file");
    let mut parts: ModPath = file.split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("lib" | "mod")) {
        parts.pop();
    }
    parts
}

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "crate".to_string()
    } else {
        m.join("::")
    }
}

/// The file-level graph of `files` (path relative to `src/` → source).
fn graph(files: &BTreeMap<String, String>) -> Graph {
    // Every module (file or inline) → the file module that holds it.
    let mut owner: BTreeMap<ModPath, ModPath> = BTreeMap::new();
    let mut parsed = Vec::new();
    for (file, src) in files {
        let module = module_of(file);
        let refs = parse_file(&module, src);
        owner.insert(module.clone(), module.clone());
        for inline in &refs.inline_mods {
            owner.insert(inline.clone(), module.clone());
        }
        parsed.push((module, refs));
    }
    // What each module binds by `use`: name → absolute path.
    let mut binds: BTreeMap<ModPath, BTreeMap<String, ModPath>> = BTreeMap::new();
    for (_, refs) in &parsed {
        for (here, path, bound) in &refs.refs {
            if let (Some(bound), Some(abs)) = (bound, absolute(here, path, &owner)) {
                binds
                    .entry(here.clone())
                    .or_default()
                    .insert(bound.clone(), abs);
            }
        }
    }
    let mut g = Graph::new();
    for (module, refs) in &parsed {
        let edges = g.entry(name(module)).or_default();
        for (here, path, _) in &refs.refs {
            let Some(abs) = absolute(here, path, &owner) else {
                continue;
            };
            if let Some(target) = resolve(&abs, &owner, &binds, 0) {
                if target != *module {
                    edges.insert(name(&target));
                }
            }
        }
    }
    g
}

/// `path` as written in module `here`, made absolute; `None` for another crate's path.
fn absolute(
    here: &ModPath,
    path: &[String],
    owner: &BTreeMap<ModPath, ModPath>,
) -> Option<ModPath> {
    let first = path.first()?;
    let mut abs = match first.as_str() {
        "crate" => Vec::new(),
        "self" => here.clone(),
        "super" => {
            let mut m = here.clone();
            let supers = path.iter().take_while(|s| *s == "super").count();
            for _ in 0..supers {
                m.pop()?;
            }
            m.extend(path[supers..].iter().cloned());
            return Some(m);
        }
        _ => {
            let mut child = here.clone();
            child.push(first.clone());
            if !owner.contains_key(&child) {
                return None; // another crate (std, rustls, ...) or a local item
            }
            return Some(here.iter().chain(path).cloned().collect());
        }
    };
    abs.extend(path[1..].iter().cloned());
    Some(abs)
}

/// The file an absolute path's item lives in, following `use` bindings.
fn resolve(
    abs: &ModPath,
    owner: &BTreeMap<ModPath, ModPath>,
    binds: &BTreeMap<ModPath, BTreeMap<String, ModPath>>,
    hops: usize,
) -> Option<ModPath> {
    let n = (0..=abs.len())
        .rev()
        .find(|&n| owner.contains_key(&abs[..n]))?;
    let module = &abs[..n];
    if let Some(next) = abs.get(n) {
        if let Some(target) = binds.get(module).and_then(|b| b.get(next)) {
            if hops < 16 {
                let mut followed = target.clone();
                followed.extend(abs[n + 1..].iter().cloned());
                return resolve(&followed, owner, binds, hops + 1);
            }
        }
    }
    owner.get(module).cloned()
}

/// Every cycle of `g`, one per strongly connected component of two or more nodes, as a path that
/// starts and ends at the same node.
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    components(g).into_iter().map(|(cycle, _)| cycle).collect()
}

/// Each strongly connected component of two or more nodes: one cycle through it, and its members.
fn components(g: &Graph) -> Vec<(Vec<String>, BTreeSet<String>)> {
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(n) = todo.pop() {
            for m in g.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    todo.push(m.clone());
                }
            }
        }
        seen
    };
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in g.keys() {
        if done.contains(n) || !reach(n).contains(n) {
            continue;
        }
        let scc: BTreeSet<String> = reach(n)
            .into_iter()
            .filter(|m| reach(m).contains(n))
            .collect();
        done.extend(scc.iter().cloned());
        out.push((shortest_cycle(g, n, &scc), scc));
    }
    out
}

/// The shortest path from `start` back to itself inside `scc`.
fn shortest_cycle(g: &Graph, start: &str, scc: &BTreeSet<String>) -> Vec<String> {
    let mut prev: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.to_string()]);
    while let Some(n) = queue.pop_front() {
        for m in g.get(&n).into_iter().flatten().filter(|m| scc.contains(*m)) {
            if m == start {
                let mut path = vec![start.to_string(), n.clone()];
                let mut at = n.clone();
                while let Some(p) = prev.get(&at) {
                    path.push(p.clone());
                    at = p.clone();
                }
                path.reverse();
                return path;
            }
            if !prev.contains_key(m) && m != start {
                prev.insert(m.clone(), n.clone());
                queue.push_back(m.clone());
            }
        }
    }
    vec![start.to_string()]
}

fn src_files() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    let mut todo = vec![root.clone()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() {
                if rel != "bin" {
                    todo.push(path);
                }
            } else if rel.ends_with(".rs") {
                files.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    files
}

fn synthetic(files: &[(&str, &str)]) -> Graph {
    graph(
        &files
            .iter()
            .map(|(f, s)| (f.to_string(), s.to_string()))
            .collect(),
    )
}

fn edges(g: &Graph, from: &str) -> Vec<String> {
    g.get(from).into_iter().flatten().cloned().collect()
}

// === tests ===

#[test]
fn src_has_no_module_cycle() {
    let g = graph(&src_files());
    let named: Vec<String> = components(&g)
        .iter()
        .map(|(cycle, scc)| format!("{} (all of: {scc:?})", cycle.join(" -> ")))
        .collect();
    assert!(named.is_empty(), "module cycles in src/: {named:#?}");
    // The parse found the arrows it must: the receiver makes clients and servers, not back.
    for (from, to) in [
        ("creds", "client"),
        ("creds", "server"),
        ("creds", "configs"),
        ("client", "configs"),
        ("server", "configs"),
        ("identity", "error"),
        ("trust", "trust::roots"),
        ("trust::verifiers", "handshake"),
        ("trust::verifiers", "authz"),
        ("configs", "trust::verifiers"),
        ("provider", "provider::policy::table"),
        ("provider::policy::table", "provider::kx"),
        ("provider::aead::tls12", "provider::aead"),
        ("error", "error::leaf"),
        ("identity::rules", "error::leaf"),
    ] {
        assert!(
            edges(&g, from).contains(&to.to_string()),
            "{from} -> {to} missing: {g:#?}"
        );
    }
    for (from, to) in [
        ("client", "creds"),
        ("server", "creds"),
        ("error", "identity"),
        ("configs", "creds"),
        ("trust", "creds"),
        ("trust::verifiers", "server"),
        ("trust::verifiers", "client"),
    ] {
        assert!(!edges(&g, from).contains(&to.to_string()), "{from} -> {to}");
    }
}

#[test]
fn a_synthetic_cycle_is_found_and_named() {
    let g = synthetic(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\npub struct A;\n"),
        ("b.rs", "pub struct B;\nfn f() -> crate::a::A { todo!() }\n"),
    ]);
    assert_eq!(
        cycles(&g),
        vec![vec!["a".to_string(), "b".into(), "a".into()]]
    );

    // Through a re-export at the root, and a child's `super::` item of its parent.
    let g = synthetic(&[
        ("lib.rs", "mod a;\nmod c;\npub use a::A;\n"),
        ("a.rs", "mod kid;\npub struct A;\n"),
        ("a/kid.rs", "use super::A;\nuse crate::c;\n"),
        ("c.rs", "use crate::A;\n"),
    ]);
    assert_eq!(edges(&g, "c"), ["a"]);
    assert_eq!(edges(&g, "a::kid"), ["a", "c"]);
    assert_eq!(
        edges(&g, "a"),
        Vec::<String>::new(),
        "`mod kid;` is not an import"
    );
    assert!(cycles(&g).is_empty());
    let g = synthetic(&[
        ("lib.rs", "mod a;\nmod c;\npub use a::A;\n"),
        ("a.rs", "pub struct A;\nfn f() { crate::c::g() }\n"),
        ("c.rs", "use crate::{A, a};\npub fn g() {}\n"),
    ]);
    assert_eq!(
        cycles(&g),
        vec![vec!["a".to_string(), "c".into(), "a".into()]]
    );
}

#[test]
fn comments_strings_and_test_modules_are_not_imports() {
    let g = synthetic(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        (
            "a.rs",
            "// use crate::b::X;\n/// See [`crate::b::X`].\n/* crate::b::Y */\n\
             const S: &str = \"crate::b::X\";\nconst R: &str = r#\"crate::b\"#;\n\
             const C: char = '\"';\nfn f<'a>(x: &'a str) -> &'a str { x }\n\
             #[cfg(test)]\nmod tests {\n    use super::*;\n}\npub struct A;\n",
        ),
        (
            "b.rs",
            "use std::fmt;\nuse rustls::Error;\npub(crate) fn g() {}\n",
        ),
    ]);
    assert_eq!(edges(&g, "a"), Vec::<String>::new());
    assert_eq!(edges(&g, "b"), Vec::<String>::new());
    assert!(cycles(&g).is_empty());
}
