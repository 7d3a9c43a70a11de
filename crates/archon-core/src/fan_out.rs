//! Independent items (motions, mandates) side by side. Every item's model calls
//! go through the context's one shared backend, so the process-wide concurrency
//! limit holds however many items run at once; results come back in item order,
//! so what is written never depends on which item finished first.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// Most items in progress at once: enough that items asking a few questions
/// per round together keep the model server's concurrency busy.
const MAX_ITEMS_IN_FLIGHT: usize = 8;

/// `f` of every item, run on up to [`MAX_ITEMS_IN_FLIGHT`] threads; the
/// results in item order.
pub fn in_order<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..items.len().min(MAX_ITEMS_IN_FLIGHT))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return mine;
                        };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// [`in_order`] for items that each end with a write to something they share
/// (the governance ledger): `f` gets the item's [`Turn`], and a write made after
/// `turn.wait()` lands after every earlier item's, so the shared record reads
/// the same whatever order the work before it finished in.
pub fn in_order_with_turns<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T, &Turn<'_>) -> R + Sync,
) -> Vec<R> {
    let finished = Finished::default();
    let indexed: Vec<(usize, &T)> = items.iter().enumerate().collect();
    in_order(&indexed, |(index, item)| {
        let turn = Turn {
            index: *index,
            finished: &finished,
        };
        // Marked finished even if `f` panics, so later items never wait forever.
        let _finished = MarkOnDrop(&finished, *index);
        f(item, &turn)
    })
}

struct MarkOnDrop<'a>(&'a Finished, usize);

impl Drop for MarkOnDrop<'_> {
    fn drop(&mut self) {
        self.0.mark(self.1);
    }
}

/// Which items have finished: all below `prefix`, and those in `later`.
#[derive(Default)]
struct Finished {
    state: Mutex<(usize, BTreeSet<usize>)>,
    changed: Condvar,
}

impl Finished {
    fn mark(&self, index: usize) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (prefix, later) = &mut *state;
        if index >= *prefix {
            later.insert(index);
        }
        while later.remove(prefix) {
            *prefix += 1;
        }
        self.changed.notify_all();
    }
}

/// One item's place in the order of [`in_order_with_turns`].
pub struct Turn<'a> {
    index: usize,
    finished: &'a Finished,
}

impl Turn<'_> {
    /// Blocks until every earlier item has finished. Items are taken up in
    /// order, so the earliest unfinished item never waits: no deadlock.
    pub fn wait(&self) {
        let state = self
            .finished
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let _ready = self
            .finished
            .changed
            .wait_while(state, |(prefix, _)| *prefix < self.index)
            .unwrap_or_else(|e| e.into_inner());
    }

    /// Lets later items' writes go ahead before this item has finished: its
    /// last write to the shared record is done.
    pub fn pass(&self) {
        self.finished.mark(self.index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn results_keep_item_order_whatever_order_items_finish_in() {
        let items: Vec<u64> = (0..20).collect();
        // Early items sleep longest, so they finish last.
        let out = in_order(&items, |i| {
            std::thread::sleep(Duration::from_millis(20 - i));
            i * 10
        });
        assert_eq!(out, items.iter().map(|i| i * 10).collect::<Vec<_>>());
    }

    #[test]
    fn at_most_the_bound_runs_at_once() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items = vec![(); 3 * MAX_ITEMS_IN_FLIGHT];
        in_order(&items, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            running.fetch_sub(1, Ordering::SeqCst);
        });
        let peak = peak.into_inner();
        assert!(peak > 1 && peak <= MAX_ITEMS_IN_FLIGHT, "peak {peak}");
    }

    #[test]
    fn writes_after_the_turn_land_in_item_order() {
        let log = Mutex::new(Vec::new());
        let items: Vec<u64> = (0..3 * MAX_ITEMS_IN_FLIGHT as u64).collect();
        in_order_with_turns(&items, |i, turn| {
            // Later items finish their work first.
            std::thread::sleep(Duration::from_millis(30 - i));
            turn.wait();
            log.lock().unwrap().push(*i);
        });
        assert_eq!(log.into_inner().unwrap(), items);
    }

    #[test]
    fn a_passed_turn_lets_later_items_write_before_it_finishes() {
        let log = Mutex::new(Vec::new());
        let (wrote, written) = std::sync::mpsc::channel();
        let written = Mutex::new(written);
        in_order_with_turns(&[0u64, 1], |i, turn| {
            turn.wait();
            log.lock().unwrap().push(format!("write {i}"));
            turn.pass();
            if *i == 0 {
                // Item 0 is still busy until item 1 has written and finished
                // (bounded wait: without `pass`, item 1 would still be waiting for it).
                let _ = written.lock().unwrap().recv_timeout(Duration::from_secs(5));
                log.lock().unwrap().push("done 0".to_string());
            } else {
                // Logged before item 0 is let go, so the order is fixed.
                log.lock().unwrap().push("done 1".to_string());
                wrote.send(()).unwrap();
            }
        });
        let log = log.into_inner().unwrap();
        assert_eq!(&log[..2], ["write 0", "write 1"]);
        assert_eq!(log[3], "done 0", "{log:?}");
    }
}
