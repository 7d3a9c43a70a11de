//! Paths as artifacts record them. A run must not depend on where its root
//! folder is, so a path written into an artifact or the ledger is relative to
//! the run root, never to the current directory (absolute only when it shares
//! no folder with the root).

use std::path::{Component, Path, PathBuf};

/// The file of a run root that holds its governance ledger.
pub const LEDGER_FILE: &str = "governance.db";
/// The file of a run root that holds `archon run`'s state.
pub const RUN_STATE_FILE: &str = "run_state.json";
/// The folders of a run root that stage folders lie in.
pub const REVIEW_DIR: &str = "review";
pub const EXECUTIVE_DIR: &str = "executive";
pub const RFP_DIR: &str = "rfp";
const STAGE_ROOTS: [&str; 3] = [REVIEW_DIR, EXECUTIVE_DIR, RFP_DIR];

/// The run root `dir` (a stage folder, a mandate, a selection folder, …)
/// lies in: the nearest folder, `dir` itself included, that holds a run's
/// ledger or run state, else the folder holding the `rfp/`, `review/` or
/// `executive/` folder `dir` lies in; absolute. `None` when `dir` is in no
/// run root. The one lookup: recorded paths, default ledgers and the run
/// root's lock all rest on it.
pub fn containing(dir: &Path) -> Option<PathBuf> {
    // A relative name has only the ancestors it spells (`selection` has
    // none): look at where it points, as recorded paths do.
    let dir = absolute(dir);
    let marked = dir
        .ancestors()
        .find(|a| a.join(LEDGER_FILE).is_file() || a.join(RUN_STATE_FILE).is_file());
    let root = marked.or_else(|| {
        dir.ancestors()
            .find(|a| {
                a.file_name()
                    .is_some_and(|n| STAGE_ROOTS.iter().any(|s| n == *s))
            })
            .and_then(Path::parent)
    })?;
    Some(root.to_path_buf())
}

/// `path` as recorded: relative to `root` (with `/` separators, `..` to step
/// out of it), or absolute when the two share nothing but the file-system root
/// (or `root` is `None`).
pub fn recorded_path(root: Option<&Path>, path: &Path) -> String {
    let abs = absolute(path);
    let Some(root) = root.map(absolute) else {
        return abs.display().to_string();
    };
    let common = abs
        .components()
        .zip(root.components())
        .take_while(|(a, b)| a == b)
        .count();
    let shares_a_folder = abs
        .components()
        .take(common)
        .any(|c| matches!(c, Component::Normal(_)));
    if !shares_a_folder {
        return abs.display().to_string();
    }
    let up = root.components().count() - common;
    let down = abs.components().skip(common);
    std::iter::repeat_n("..".into(), up)
        .chain(down.map(|c| c.as_os_str().to_string_lossy()))
        .collect::<Vec<_>>()
        .join("/")
}

/// `path` made absolute against the current directory, lexically (`.` and
/// `..` folded, symlinks left alone: a recorded path names what was given).
fn absolute(path: &Path) -> PathBuf {
    // An empty path (the root of `governance.db`) is the current directory.
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let joined = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_folder_finds_its_run_root() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("b/c");
        let mandate = root.join("rfp/rfp_1/mandates/m-1");
        std::fs::create_dir_all(mandate.join("selection")).expect("mkdir");
        std::fs::create_dir_all(root.join("review/s1")).expect("mkdir");
        // No ledger yet: the folder holding rfp/ or review/.
        assert_eq!(containing(&mandate), Some(root.clone()));
        assert_eq!(containing(&root.join("review/s1")), Some(root.clone()));
        assert_eq!(containing(&root), None);
        std::fs::write(root.join(LEDGER_FILE), b"").expect("ledger");
        for dir in [&mandate, &mandate.join("selection/.."), &root] {
            assert_eq!(containing(dir), Some(root.clone()), "{}", dir.display());
        }
        assert_eq!(containing(tmp.path()), None);
    }

    #[test]
    fn paths_inside_the_root_are_relative_whatever_the_cwd_form() {
        let cwd = std::env::current_dir().unwrap_or_default();
        let cases = [
            ("a", "a/review/s/x.json", "review/s/x.json"),
            ("b/c", "b/c/review/s/x.json", "review/s/x.json"),
            ("./b/c/", "b/c/./review/s/../s/x.json", "review/s/x.json"),
        ];
        for (root, path, want) in cases {
            assert_eq!(recorded_path(Some(Path::new(root)), Path::new(path)), want);
            let abs_root = cwd.join(root);
            assert_eq!(recorded_path(Some(&abs_root), Path::new(path)), want);
        }
        assert_eq!(recorded_path(Some(Path::new("a")), Path::new("a")), "");
        assert_eq!(recorded_path(Some(Path::new("")), Path::new("ws")), "ws");
    }

    #[test]
    fn paths_outside_the_root_step_out_of_it() {
        let cases = [
            ("l", "ws", "../ws"),
            ("a/b", "a/c/x.json", "../c/x.json"),
            ("a", "ab/x", "../ab/x"),
        ];
        for (root, path, want) in cases {
            assert_eq!(recorded_path(Some(Path::new(root)), Path::new(path)), want);
        }
        // Nothing in common but `/`, or no root: absolute.
        assert_eq!(
            recorded_path(Some(Path::new("/x/y")), Path::new("/z")),
            "/z"
        );
        assert_eq!(recorded_path(None, Path::new("/x/y")), "/x/y");
    }
}
