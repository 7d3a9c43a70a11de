//! `archon report` in a real headless browser (Debian's `chromium`; `.ci/run`
//! installs it): the page of the bundled example's run, and of the real
//! consolidator session's, shows the counts its artifacts hold, draws
//! something, fetches nothing, and a hostile motion title stays text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::cli::archon;
use crate::support::SPEC_EXAMPLES;

const EXAMPLE_SESSION: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/example/consolidator/example-session-001"
);
/// The real consolidator session of the Python system (reference data, read in place).
const REAL_SESSION: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/archon72/consolidator/c53dba60-e7d8-4eae-9c42-14750a914b4e"
);
const HOSTILE_TITLE: &str = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>";
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// `archon run` of `session` (default: the bundled example) into `cwd/out`.
fn run_cycle(cwd: &Path, session: Option<&Path>) -> PathBuf {
    let mut cmd = archon(cwd);
    cmd.args(["--mode", "simulation", "run", "--out", "out"]);
    if let Some(s) = session {
        cmd.arg(s);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("report: out/report.html"),
        "archon run prints where the report is:\n{stdout}"
    );
    cwd.join("out")
}

/// What chromium printed: stdout (the DOM with `--dump-dom`) and its log.
struct Browser {
    stdout: String,
    log: String,
}

/// Headless chromium on `page` with `extra` flags, no network, a fresh profile;
/// bounded in time. Output goes to files: a page's DOM does not fit a pipe's
/// buffer, and waiting on a full pipe would never end.
fn chromium(work: &Path, page: &Path, extra: &[&str]) -> Browser {
    let profile = tempfile::tempdir_in(work).unwrap();
    let stdout_path = profile.path().join("stdout");
    let log_path = profile.path().join("stderr");
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .args(extra)
        .arg(format!("file://{}", page.canonicalize().unwrap().display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("chromium not found: install it (`.ci/run` does: apt-get install -y chromium)");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            child.kill().unwrap();
            panic!("chromium did not finish within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let browser = Browser {
        stdout: std::fs::read_to_string(&stdout_path).unwrap(),
        log: String::from_utf8_lossy(&std::fs::read(&log_path).unwrap()).into_owned(),
    };
    assert!(status.success(), "chromium failed: {}", browser.log);
    browser
}

fn dump_dom(work: &Path, page: &Path) -> (String, String) {
    let b = chromium(work, page, &["--dump-dom"]);
    (b.stdout, b.log)
}

/// The number the page shows in `data-count="key"`.
fn count_on_page(dom: &str, key: &str) -> u64 {
    let marker = format!("data-count=\"{key}\">");
    let at = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} on the page"));
    let digits: String = dom[at + marker.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// What the artifacts hold, counted here from the files themselves.
struct Expected {
    motions: BTreeMap<&'static str, u64>,
    plans: u64,
    gates_passed: u64,
    mandates: u64,
    winners: u64,
    tasks: BTreeMap<String, u64>,
    executions: BTreeMap<String, u64>,
}

fn expected(out: &Path) -> Expected {
    let session = subdirs(&out.join("review")).pop().unwrap();
    let summary = &json(&session.join("ratification_results.json"))["summary"];
    let motions = ["total_motions", "ratified", "rejected", "deferred"]
        .into_iter()
        .map(|k| (k, summary[k].as_u64().unwrap()))
        .collect();
    let plan_dirs: Vec<PathBuf> = subdirs(&out.join("executive"))
        .iter()
        .flat_map(|s| subdirs(s))
        .collect();
    let gates_passed = plan_dirs
        .iter()
        .filter(|d| json(&d.join("executive_gates.json"))["all_passed"] == Value::Bool(true))
        .count() as u64;
    let mandates: Vec<PathBuf> = subdirs(&out.join("rfp"))
        .iter()
        .flat_map(|s| subdirs(&s.join("mandates")))
        .collect();
    let winners = mandates
        .iter()
        .filter(|m| {
            json(&m.join("selection/selection_result.json"))["winning_proposal_id"].is_string()
        })
        .count() as u64;
    let listed = archon(out.parent().unwrap())
        .args(["tasks", "list", "--json", "--ledger", "out/governance.db"])
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let mut tasks = BTreeMap::new();
    for t in serde_json::from_slice::<Value>(&listed.stdout)
        .unwrap()
        .as_array()
        .unwrap()
    {
        *tasks
            .entry(t["state"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    let mut executions = BTreeMap::new();
    for task in subdirs(&out.join("execute")) {
        let report = json(&task.join("execution-stage-report.json"));
        let outcome = report["outcome"]["outcome"].as_str().unwrap().to_string();
        *executions.entry(outcome).or_insert(0) += 1;
    }
    Expected {
        motions,
        plans: plan_dirs.len() as u64,
        gates_passed,
        mandates: mandates.len() as u64,
        winners,
        tasks,
        executions,
    }
}

/// Runs the chain on `session` (default: the bundled example), opens its
/// report in chromium and checks the page against the artifacts.
fn check_report_against_artifacts(session: Option<&Path>) {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_cycle(tmp.path(), session);
    let page = out.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for reference in ["http://", "https://", "<script", "<link", " src=", "url("] {
        assert!(!html.contains(reference), "the page references {reference}");
    }

    let (dom, log) = dump_dom(tmp.path(), &page);
    for failure in ["Failed to load", "net::ERR_", "ERR_NAME_NOT_RESOLVED"] {
        assert!(!log.contains(failure), "a load failed:\n{log}");
    }
    let want = expected(&out);
    for (key, n) in &want.motions {
        let on_page = match *key {
            "total_motions" => "motions-total".to_string(),
            k => format!("motions-{k}"),
        };
        assert_eq!(count_on_page(&dom, &on_page), *n, "{key}");
    }
    assert_eq!(
        dom.matches("class=\"item motion\"").count() as u64,
        want.motions["total_motions"]
    );
    assert_eq!(count_on_page(&dom, "plans"), want.plans);
    assert_eq!(count_on_page(&dom, "gates-passed"), want.gates_passed);
    assert_eq!(count_on_page(&dom, "mandates"), want.mandates);
    assert_eq!(count_on_page(&dom, "winners"), want.winners);
    assert_eq!(
        dom.matches("class=\"item mandate\"").count() as u64,
        want.mandates
    );
    assert!(!want.tasks.is_empty());
    for (state, n) in &want.tasks {
        assert_eq!(
            count_on_page(&dom, &format!("tasks-{state}")),
            *n,
            "{state}"
        );
    }
    assert_eq!(
        count_on_page(&dom, "tasks"),
        want.tasks.values().sum::<u64>()
    );
    assert!(!want.executions.is_empty());
    for (outcome, n) in &want.executions {
        assert_eq!(
            count_on_page(&dom, &format!("executions-{outcome}")),
            *n,
            "{outcome}"
        );
    }
    // Every task's provenance chain resolved (the same hops as `archon trace`).
    assert_eq!(
        dom.matches("<ol class=\"hops\">").count() as u64,
        want.tasks.values().sum::<u64>()
    );
    assert!(dom.contains("verify: ok"), "the verification line");
    assert!(dom.contains("data-ledger-head"));
    // One SVG finalists' chart per mandate, one stance bar per aggregated motion.
    assert_eq!(
        dom.matches("aria-label=\"finalists' mean score per dimension\"")
            .count() as u64,
        want.mandates
    );
}

#[test]
fn the_example_report_shows_the_artifacts_counts_and_loads_nothing() {
    check_report_against_artifacts(None);
}

#[test]
fn the_report_of_the_real_consolidator_session_matches_its_artifacts() {
    check_report_against_artifacts(Some(Path::new(REAL_SESSION)));
}

/// The real session, roster and clusters (the spec's examples folder): no
/// example cluster carries the simulation's two tags, so every drafted task is
/// unroutable and none reaches the ledger. The page says so, with the bridge
/// summaries' counts, instead of calling the tasks "not run".
#[test]
fn the_report_of_a_run_whose_tasks_fit_no_cluster_counts_them() {
    let fixtures = Path::new(REAL_SESSION).join("../..");
    let tmp = tempfile::tempdir().unwrap();
    let run = archon(tmp.path())
        .args(["--mode", "simulation", "--roster"])
        .arg(fixtures.join("docs/archons-base.json"))
        .args(["run", "--out", "out", "--cluster-dir", SPEC_EXAMPLES])
        .arg(REAL_SESSION)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = tmp.path().join("out");
    let summaries: Vec<Value> = subdirs(&out.join("rfp"))
        .iter()
        .flat_map(|s| subdirs(&s.join("mandates")))
        .map(|m| json(&m.join("execution_bridge/bridge_summary.json")))
        .collect();
    let sum = |key: &str| -> u64 { summaries.iter().map(|b| b[key].as_u64().unwrap()).sum() };
    assert!(sum("total_task_drafts") > 0);
    let (dom, _) = dump_dom(tmp.path(), &out.join("report.html"));
    assert_eq!(count_on_page(&dom, "tasks"), 0);
    assert_eq!(
        count_on_page(&dom, "tasks-drafted"),
        sum("total_task_drafts")
    );
    assert_eq!(
        count_on_page(&dom, "tasks-unroutable"),
        sum("no_eligible_cluster")
    );
    assert_eq!(
        dom.matches("decomposition: ").count(),
        summaries.len(),
        "one decomposition line per mandate"
    );
}

#[test]
fn the_example_report_screenshot_is_not_blank() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_cycle(tmp.path(), None);
    let shot = tmp.path().join("report.png");
    chromium(
        tmp.path(),
        &out.join("report.html"),
        &[
            "--window-size=1200,1600",
            "--hide-scrollbars",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1200, 1600));
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let mut colours: BTreeMap<&[u8], usize> = BTreeMap::new();
    for p in &pixels {
        *colours.entry(&p[..3]).or_insert(0) += 1;
    }
    let background = colours.values().max().unwrap();
    assert!(colours.len() > 50, "only {} colours", colours.len());
    assert!(
        (*background as f64) < 0.9 * pixels.len() as f64,
        "one colour covers {background} of {} pixels",
        pixels.len()
    );
}

#[test]
fn a_hostile_motion_title_is_shown_as_text() {
    let tmp = tempfile::tempdir().unwrap();
    let session = tmp.path().join("hostile-session");
    std::fs::create_dir(&session).unwrap();
    for file in ["mega-motions.json", "novel-proposals.json"] {
        std::fs::copy(Path::new(EXAMPLE_SESSION).join(file), session.join(file)).unwrap();
    }
    let motions_path = session.join("mega-motions.json");
    let mut motions = json(&motions_path);
    motions[0]["title"] = Value::String(HOSTILE_TITLE.into());
    std::fs::write(&motions_path, serde_json::to_vec_pretty(&motions).unwrap()).unwrap();
    let out = run_cycle(tmp.path(), Some(&session));

    let (dom, _) = dump_dom(tmp.path(), &out.join("report.html"));
    assert!(!dom.contains("<script"), "a script element reached the DOM");
    assert!(!dom.contains("<img"), "an img element reached the DOM");
    assert!(
        dom.contains("<title>archon report</title>"),
        "the title was not rewritten"
    );
    assert!(
        dom.contains(
            "&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
        ),
        "the title is shown as text"
    );
}

#[test]
fn a_partial_run_shows_what_has_not_run_and_a_missing_root_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let run = archon(tmp.path())
        .args([
            "--mode",
            "simulation",
            "run",
            "--out",
            "out",
            "--until",
            "plan",
            "--no-report",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        !tmp.path().join("out/report.html").exists(),
        "--no-report writes none"
    );

    let page = tmp.path().join("partial.html");
    let report = archon(tmp.path())
        .args(["report", "out", "--out"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let want = expected_motions(&tmp.path().join("out"));
    assert_eq!(count_on_page(&html, "motions-ratified"), want);
    for id in ["selection", "tasks"] {
        let start = html.find(&format!("<section id=\"{id}\">")).unwrap();
        let end = start + html[start..].find("</section>").unwrap();
        assert!(html[start..end].contains("not run"), "{id}");
    }

    let missing = archon(tmp.path())
        .args(["report", "nope"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope: no such run directory"));
}

fn expected_motions(out: &Path) -> u64 {
    let session = subdirs(&out.join("review")).pop().unwrap();
    json(&session.join("ratification_results.json"))["summary"]["ratified"]
        .as_u64()
        .unwrap()
}
