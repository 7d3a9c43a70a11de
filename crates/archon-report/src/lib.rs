//! `archon report`: one self-contained HTML page of a run root, read from its
//! artifacts (the `read` edge) and rendered without I/O (`render`, `chart`).

pub mod chart;
pub mod diff;
pub mod model;
pub mod read;
pub mod render;

pub use archon_pipeline::Layout;
pub use read::{read_run, ReportError};
pub use render::render;

/// Reads the run root and renders its page.
pub fn report(run: &Layout) -> Result<String, ReportError> {
    let data = read_run(run)?;
    Ok(render(&data)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn section<'a>(html: &'a str, id: &str) -> &'a str {
        let start = html.find(&format!("<section id=\"{id}\">")).unwrap();
        let end = start + html[start..].find("</section>").unwrap();
        &html[start..end]
    }

    #[test]
    fn an_empty_run_root_is_a_page_of_stages_not_run() {
        let tmp = tempfile::tempdir().unwrap();
        let html = report(&Layout::new(tmp.path())).unwrap();
        for id in ["review", "planning", "selection", "tasks"] {
            assert!(section(&html, id).contains("not run"), "{id}");
        }
        let glance = section(&html, "glance");
        assert_eq!(glance.matches("not run").count(), 6, "every card: {glance}");
        assert!(html.contains("no ledger"));
    }

    #[test]
    fn a_malformed_artifact_is_named_on_the_page_and_the_rest_still_shows() {
        let tmp = tempfile::tempdir().unwrap();
        let session = tmp.path().join("review").join("s1");
        std::fs::create_dir_all(&session).unwrap();
        std::fs::write(session.join("triage_results.json"), "{\"motions\": 3}").unwrap();
        let html = report(&Layout::new(tmp.path())).unwrap();
        assert!(html.contains("unreadable: "), "{html}");
        assert!(html.contains("triage_results.json"));
        assert!(html.contains("$.motions"), "the JSON path is named");
        assert!(
            html.contains("not run"),
            "later stages are shown as not run"
        );
    }

    #[test]
    fn a_missing_run_root_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let err = report(&Layout::new(&missing)).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
