//! An LLM batch draws one bar labelled with its question kind that counts
//! completions up to the batch size, and a log line printed through
//! `Progress::suspend` is not interleaved with a bar.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};

use archon_agents::Progress;
use indicatif::{ProgressDrawTarget, TermLike};
use support::*;
use wiremock::matchers::{method, path};
use wiremock::Mock;

/// A terminal that keeps everything written to it.
#[derive(Debug, Clone, Default)]
struct Screen(Arc<Mutex<String>>);

impl Screen {
    fn put(&self, s: &str) -> std::io::Result<()> {
        self.0.lock().unwrap().push_str(s);
        Ok(())
    }
    fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }
}

impl TermLike for Screen {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        self.put("<up>")
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(&format!("{s}\n"))
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.put("<clear>")
    }
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_batch_shows_one_bar_per_kind_counting_completions() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ProbeResponder { ollama: false }),
    );
    let archons: Vec<_> = ["Bael", "Agares", "Vassago"]
        .iter()
        .map(|n| archon(n, "vllm", &server.url()))
        .collect();
    let screen = Screen::default();
    let progress = Progress::to(ProgressDrawTarget::term_like(Box::new(screen.clone())));
    let mut transport = transport(None);
    transport.progress = progress.clone();
    let answers = agents(transport).ask_all(&ask_each(&archons, "abc"));
    assert!(answers.iter().all(Result::is_ok));
    let drawn = screen.text();
    assert!(drawn.contains("probe [0/3]"), "{drawn}");
    assert!(drawn.contains("probe [3/3]"), "{drawn}");
    // The bar is gone once the batch is answered: its last draw is cleared.
    assert!(
        drawn.rfind("<clear>") > drawn.rfind("probe [3/3]"),
        "{drawn}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn a_suspended_log_line_is_written_whole_between_bar_draws() {
    let screen = Screen::default();
    let progress = Progress::to(ProgressDrawTarget::term_like(Box::new(screen.clone())));
    let bar = progress.bar("probe", 2);
    bar.inc(1);
    progress.suspend(|| screen.put("LOG LINE\n").unwrap());
    bar.inc(1);
    drop(bar);
    let drawn = screen.text();
    let log = drawn.find("LOG LINE\n").unwrap();
    // Cleared before the line, redrawn after it.
    let before = &drawn[..log];
    assert!(
        before.rfind("<clear>") > before.rfind("probe [1/2]"),
        "{drawn}"
    );
    assert!(drawn[log..].contains("probe [1/2]"), "{drawn}");
}

#[test]
fn without_progress_nothing_is_drawn() {
    let progress = Progress::off();
    let bar = progress.bar("probe", 2);
    bar.inc(2);
    assert!(bar.handle().is_hidden());
}
