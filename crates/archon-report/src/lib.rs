//! `archon report`: one self-contained HTML page of a run root, read from its
//! artifacts (the `read` edge) and rendered without I/O (`render`, `chart`).

pub mod chart;
pub mod diff;
pub mod layout;
pub mod model;
pub mod provenance;
pub mod read;
pub mod render;

pub use layout::RunLayout;
pub use read::{read_run, ReportError};
pub use render::render;

/// Reads the run root and renders its page.
pub fn report(run: &RunLayout) -> Result<String, ReportError> {
    let data = read_run(run)?;
    Ok(render(&data)?)
}
