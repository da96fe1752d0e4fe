//! The live terminal dashboard (ratatui + crossterm).
//!
//! The dashboard runs on the UI thread while the trainer runs on its own thread; the two talk
//! through the engine's channels ([`crate::train::engine::EngineHandle`]). The state is a pure
//! [`app::App`] (updates and keys in, controls out, no I/O) made of pieces that know nothing
//! of it: [`controls`], [`event_log`], [`loss`] history, the [`inspector_list`], the
//! [`acceptance`] preview and the [`samples`]. Each panel has its own module that draws part of
//! that state into a ratatui [`ratatui::Frame`]; [`run`] holds the event loop and [`view`]
//! replays a run directory read-only. Modules depend one way: drawing on state, `app` on its
//! pieces, never back.
//!
//! Every key is in one table, [`keys::KEYS`]: key handling, the help overlay (press `?` in the
//! dashboard) and the key hints are all read from it.

#![warn(missing_docs)]

pub mod acceptance;
pub mod accuracy;
pub mod app;
pub mod confusion;
pub mod controls;
pub mod event_log;
pub mod help;
pub mod images;
pub mod inspector;
pub mod inspector_list;
pub mod keys;
pub mod layout;
pub mod loss;
pub mod picture;
pub mod pseudo;
pub mod run;
pub mod samples;
pub mod status;
pub mod terminal;
pub mod view;
pub mod widgets;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod snapshots;

pub use app::{Action, App, Mode};
pub use run::{DashboardOptions, run_dashboard};
pub use view::run_view;

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// The code of a module file without its test module and comments (doc links are not
    /// imports).
    fn non_test_code(text: &str) -> String {
        let code = match text.find("#[cfg(test)]\nmod ") {
            Some(at) => &text[..at],
            None => text,
        };
        code.lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The `crate::tui` modules a piece of code refers to (`crate::tui::a::…` and
    /// `crate::tui::{a, b::…}`).
    fn referenced(code: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        for (at, _) in code.match_indices("crate::tui::") {
            let rest = &code[at + "crate::tui::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut item_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && !c.is_whitespace() => {
                            out.insert(ident(&group[i..]));
                            item_start = false;
                        }
                        _ => {}
                    }
                }
            } else {
                out.insert(ident(rest));
            }
        }
        out.retain(|m| !m.is_empty() && m != "self");
        out
    }

    #[test]
    fn no_two_dashboard_modules_import_each_other() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                for sub in std::fs::read_dir(&path).unwrap() {
                    files.push(sub.unwrap().path());
                }
            } else {
                files.push(path);
            }
        }
        for path in files {
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&dir).unwrap();
            let module = rel.iter().next().unwrap().to_string_lossy();
            let module = module.trim_end_matches(".rs").to_string();
            // Test-only modules (the fixture, the snapshots, `tests.rs` files) may look anywhere.
            if ["fixture", "snapshots", "mod"].contains(&module.as_str())
                || rel.file_name().is_some_and(|f| f == "tests.rs")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut refs = referenced(&non_test_code(&text));
            refs.remove(&module);
            graph.entry(module).or_default().extend(refs);
        }
        assert!(graph.contains_key("app") && graph["app"].contains("keys"));
        // Depth-first search for a cycle.
        fn visit(
            m: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) {
            if let Some(at) = path.iter().position(|p| p == m) {
                panic!(
                    "modules import each other: {}",
                    path[at..].join(" → ") + " → " + m
                );
            }
            if done.contains(m) {
                return;
            }
            path.push(m.to_string());
            for next in graph.get(m).into_iter().flatten() {
                visit(next, graph, path, done);
            }
            path.pop();
            done.insert(m.to_string());
        }
        let mut done = BTreeSet::new();
        for m in graph.keys() {
            visit(m, &graph, &mut Vec::new(), &mut done);
        }
    }

    #[test]
    fn references_are_read_from_paths_and_groups() {
        let code = "use crate::tui::{a, b::{self, X}, c};\nuse crate::tui::d::Y;";
        let got: Vec<String> = super::tests::referenced(code).into_iter().collect();
        assert_eq!(got, ["a", "b", "c", "d"]);
    }
}
