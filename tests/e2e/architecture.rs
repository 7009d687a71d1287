//! The rules of the workspace's shape that a compiler does not check.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The GUI-free crates stay GUI-free: no tauri (or its webview and windowing crates) anywhere
/// in their normal or build dependencies, so the engine is testable without a display and
/// `cargo build -p rolecall-cli` never compiles WebKit bindings.
#[test]
fn the_core_and_the_command_line_never_depend_on_tauri() {
    for package in ["rolecall-core", "rolecall-cli", "rolecall-sim"] {
        let tree = dependency_tree(package);
        let forbidden: Vec<&str> = tree
            .lines()
            .filter(|line| {
                let name = line.split_whitespace().next().unwrap_or_default();
                name.starts_with("tauri")
                    || name.starts_with("webkit2gtk")
                    || name.starts_with("gtk")
                    || name.starts_with("gdk")
                    || ["wry", "tao", "muda", "tray-icon", "libappindicator"].contains(&name)
            })
            .collect();
        assert!(
            forbidden.is_empty(),
            "{package} must not depend on GUI crates, but pulls in: {forbidden:?}"
        );
    }
}

fn dependency_tree(package: &str) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            package,
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        tree.contains(package),
        "cargo tree printed no {package}: {tree}"
    );
    tree
}

/// The AWS CLI starts `rolecall credential-process` before every call: loading GTK and WebKit
/// would cost it most of 100 ms, so the command-line binary must not link them (the tray app
/// is `rolecall-tray`).
#[cfg(target_os = "linux")]
#[test]
fn the_command_line_binary_links_no_gui_library() {
    let output = Command::new("ldd")
        .arg(rolecall_tests::rolecall_binary())
        .output()
        .expect("ldd (Debian package libc-bin)");
    let libraries = String::from_utf8_lossy(&output.stdout);
    for gui in [
        "libgtk",
        "libwebkit",
        "libjavascriptcore",
        "libgdk",
        "libayatana",
    ] {
        assert!(
            !libraries.contains(gui),
            "rolecall links {gui}; keep the GUI in rolecall-tray:\n{libraries}"
        );
    }
}

/// The core's modules form a tree plus leaves: a module never reaches, through `crate::`
/// paths, back to one that reaches it. A cycle means two modules are one concern, or a
/// primitive knows about the model built on it.
#[test]
fn the_core_has_no_module_cycles() {
    let src = workspace().join("crates/rolecall-core/src");
    let modules = top_level_modules(&src);
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, files) in &modules {
        let used = uses.entry(module.clone()).or_default();
        for file in files {
            let code = code_outside_tests(&fs::read_to_string(file).expect("read a core file"));
            for (index, _) in code.match_indices("crate::") {
                let name: String = code[index + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name != *module && modules.contains_key(&name) {
                    used.insert(name);
                }
            }
        }
    }
    let cycles = cycles(&uses);
    assert!(
        cycles.is_empty(),
        "the core's modules reach each other in a circle: {cycles:?}"
    );
}

/// The tray app renders what the core decides: its Rust (tests, comments and blank lines
/// aside) stays under a budget, and it writes no file itself.
#[test]
fn the_shell_stays_thin() {
    const BUDGET: usize = 1_500;
    let src = workspace().join("src-tauri/src");
    let mut lines = 0;
    let mut writers = Vec::new();
    for file in rust_files(&src) {
        let code = code_outside_tests(&fs::read_to_string(&file).expect("read a shell file"));
        lines += code.lines().filter(|line| !line.trim().is_empty()).count();
        for (number, line) in code.lines().enumerate() {
            let writes = [
                "fs::write",
                "File::create",
                "OpenOptions",
                "fs::remove_file",
                "fs::remove_dir",
                "fs::rename",
                "fs::create_dir",
                "fs::copy",
            ];
            if writes.iter().any(|write| line.contains(write)) {
                writers.push(format!("{}: {}", file.display(), number + 1));
            }
        }
    }
    assert!(
        writers.is_empty(),
        "the shell writes files itself; the core owns every file Rolecall writes: {writers:?}"
    );
    assert!(
        lines < BUDGET,
        "the shell has {lines} lines of code, over its budget of {BUDGET}: move the \
         decisions into rolecall-core"
    );
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_owned()
}

fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![folder.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).expect("read a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs")
                // `#[cfg(test)] mod tests;` files: test code, like the blocks left out below.
                && path.file_name().is_some_and(|name| name != "tests.rs")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Each top-level module of a crate (`foo.rs` and everything under `foo/`) and its files.
fn top_level_modules(src: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).expect("under src");
        let first = relative
            .components()
            .next()
            .and_then(|part| part.as_os_str().to_str())
            .unwrap_or_default();
        let name = first.strip_suffix(".rs").unwrap_or(first);
        if name != "lib" && name != "main" {
            modules.entry(name.to_owned()).or_default().push(file);
        }
    }
    modules
}

/// The code of a file without comments, `#[cfg(test)]` items and their bodies (a brace count
/// from the attribute), so only what ships counts.
fn code_outside_tests(source: &str) -> String {
    let mut code = String::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            let mut depth = 0_i32;
            let mut opened = false;
            for line in lines.by_ref() {
                let line = strip_comment(line);
                depth += count(line, '{') - count(line, '}');
                opened |= line.contains('{');
                if (opened && depth <= 0) || (!opened && line.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        let line = strip_comment(line);
        if !line.trim().is_empty() {
            code.push_str(line);
            code.push('\n');
        }
    }
    code
}

fn strip_comment(line: &str) -> &str {
    match line.find("//") {
        // A `//` inside a string (a URL) is not a comment.
        Some(at) if line[..at].matches('"').count().is_multiple_of(2) => &line[..at],
        _ => line,
    }
}

fn count(line: &str, c: char) -> i32 {
    i32::try_from(line.matches(c).count()).unwrap_or(i32::MAX)
}

/// Every cycle in the graph, as the modules on it.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        walk(graph, start, &mut path, &mut found);
    }
    found.into_iter().collect()
}

fn walk(
    graph: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    path: &mut Vec<String>,
    found: &mut BTreeSet<Vec<String>>,
) {
    let last = path.last().expect("a path has a start").clone();
    for next in graph.get(&last).into_iter().flatten() {
        if next == start {
            let mut cycle = path.clone();
            // One name per cycle, whichever module it is found from.
            let smallest = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap_or(0);
            cycle.rotate_left(smallest);
            found.insert(cycle);
        } else if next.as_str() > start && !path.contains(next) {
            path.push(next.clone());
            walk(graph, start, path, found);
            path.pop();
        }
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle_and_only_a_cycle() {
    let graph = |edges: &[(&str, &str)]| {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            graph
                .entry((*from).to_owned())
                .or_default()
                .insert((*to).to_owned());
            graph.entry((*to).to_owned()).or_default();
        }
        graph
    };
    assert!(cycles(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])).is_empty());
    assert_eq!(
        cycles(&graph(&[
            ("http", "settings"),
            ("settings", "http"),
            ("a", "http")
        ])),
        vec![vec!["http".to_owned(), "settings".to_owned()]]
    );
    assert_eq!(
        cycles(&graph(&[("c", "a"), ("a", "b"), ("b", "c")])).len(),
        1
    );
}

#[test]
fn code_outside_tests_drops_test_modules_and_comments() {
    let source = "fn a() {} // crate::x\n#[cfg(test)]\nmod tests {\n    fn b() { crate::y(); }\n}\nconst URL: &str = \"https://x\";\n";
    let code = code_outside_tests(source);
    assert_eq!(code, "fn a() {} \nconst URL: &str = \"https://x\";\n");
}
