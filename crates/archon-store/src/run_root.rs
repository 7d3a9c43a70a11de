//! Paths as artifacts record them. A run must not depend on where its root
//! folder is, so a path written into an artifact or the ledger is relative to
//! the run root, never to the current directory (absolute only when it shares
//! no folder with the root).

use std::path::{Component, Path, PathBuf};

/// The run root of a folder laid out as `<root>/<layout…>`, where `layout`
/// names the folders from the root down to `dir` and `*` stands for any one
/// name (a review folder is `["review", "*"]`, a mandate folder
/// `["rfp", "*", "mandates", "*"]`): `<root>`, or `None` when `dir` is not laid
/// out so.
pub fn run_root_of<'a>(dir: &'a Path, layout: &[&str]) -> Option<&'a Path> {
    let mut root = dir;
    for want in layout.iter().rev() {
        let Some(Component::Normal(name)) = root.components().next_back() else {
            return None;
        };
        if *want != "*" && name != *want {
            return None;
        }
        root = root.parent()?;
    }
    Some(root)
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
    fn run_roots_by_layout() {
        let review = ["review", "*"];
        let mandate = ["rfp", "*", "mandates", "*"];
        let cases: [(&str, &[&str], Option<&str>); 8] = [
            ("out/review/s1", &review, Some("out")),
            ("review/s1", &review, Some("")),
            ("/abs/run/review/s1", &review, Some("/abs/run")),
            ("out/other/s1", &review, None),
            ("out/review/..", &review, None),
            ("s1", &review, None),
            ("b/c/rfp/rfp_1/mandates/m-1", &mandate, Some("b/c")),
            ("b/c/rfp/rfp_1/other/m-1", &mandate, None),
        ];
        for (dir, layout, want) in cases {
            assert_eq!(
                run_root_of(Path::new(dir), layout),
                want.map(Path::new),
                "{dir}"
            );
        }
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
