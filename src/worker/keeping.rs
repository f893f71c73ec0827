//! Which run's weights the browser keeps when two tabs train at once.
//!
//! There is one kept network per browser (IndexedDB, [`super::store`]). Each run has an id,
//! and while it trains it holds a Web Lock named after it, so any tab can tell whether the
//! run that wrote the kept network is still going. The rule, applied inside the IndexedDB
//! transaction that writes:
//! - a run replaces its own earlier best, and the network of a run that had finished before
//!   it started, as one tab always did (the latest run wins);
//! - a run that overlapped with ours and has finished since is treated as if it still
//!   trained: its network is replaced only by a better one judged on the same images (else
//!   whichever tab happened to finish second would win, its worse network included);
//! - a run still training in another tab is replaced only by a better network, judged on the
//!   same held-out images (same kind, same count: the accuracy that chose each network, never
//!   the test set's); networks judged on different images are not compared, and the live run's
//!   stays. So two tabs never overwrite each other's work with a worse run;
//! - a file the user loads replaces anything (they asked for it).

use serde::{Deserialize, Serialize};

/// Who wrote the kept network: a run's id (`None` for a loaded file), the accuracy that chose
/// it, and what that accuracy was measured on (for example "5,000 validation images").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub run: Option<String>,
    pub accuracy: f32,
    #[serde(default)]
    pub measured_on: String,
    /// When the run started and when this network was written (ms since the epoch, the
    /// browser's clock); absent for a loaded file and in entries from before they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_ms: Option<f64>,
}

impl Owner {
    /// A file the user loaded: no run, nothing to compare.
    pub fn file() -> Self {
        Self { run: None, accuracy: 0.0, measured_on: String::new(), started_ms: None, written_ms: None }
    }
}

/// The Web Lock a run holds while it trains.
pub fn lock_name(run: &str) -> String {
    format!("mnist-studio-run-{run}")
}

/// Whether `ours` may replace the kept network written by `stored`, given whether the run
/// that wrote it still holds its lock (`running`).
pub fn may_replace(stored: Option<&Owner>, ours: &Owner, running: impl Fn(&str) -> bool) -> bool {
    let Some(stored) = stored else { return true };
    match (&stored.run, &ours.run) {
        (_, None) => true,
        (None, Some(_)) => true,
        (Some(theirs), Some(mine)) if theirs == mine => true,
        (Some(theirs), Some(_)) => {
            let better = ours.measured_on == stored.measured_on && ours.accuracy > stored.accuracy;
            // Their network written after our run started: the two runs overlapped.
            let overlapped = matches!((ours.started_ms, stored.written_ms), (Some(started), Some(written)) if written >= started);
            better || !(running(theirs) || overlapped)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, accuracy: f32) -> Owner {
        Owner { run: Some(id.into()), accuracy, measured_on: "5,000 validation images".into(), started_ms: None, written_ms: None }
    }

    /// `run` started at `started` and writing at `written`.
    fn timed(id: &str, accuracy: f32, started: f64, written: f64) -> Owner {
        Owner { started_ms: Some(started), written_ms: Some(written), ..run(id, accuracy) }
    }

    #[test]
    fn a_run_that_overlapped_ours_and_has_finished_keeps_its_better_network() {
        // Tab B started at 100 and kept 0.99 at 500, then finished; tab A, training since 200,
        // reaches 0.985 at 600: B's network stays, as it would have while B trained.
        let b = timed("b", 0.99, 100.0, 500.0);
        let nothing_runs = |_: &str| false;
        assert!(!may_replace(Some(&b), &timed("a", 0.985, 200.0, 600.0), nothing_runs));
        assert!(may_replace(Some(&b), &timed("a", 0.995, 200.0, 600.0), nothing_runs), "a better one replaces it");
        // A run started after B's network was written: the latest run wins, as in one tab.
        assert!(may_replace(Some(&b), &timed("a", 0.5, 700.0, 900.0), nothing_runs));
        // Entries from before the times were kept: as before.
        assert!(may_replace(Some(&run("b", 0.99)), &timed("a", 0.5, 200.0, 600.0), nothing_runs));
    }

    #[test]
    fn a_run_in_another_tab_is_replaced_only_by_a_better_one_while_it_trains() {
        let (a, worse, better) = (run("a", 0.98), run("b", 0.90), run("b", 0.99));
        let a_trains = |id: &str| id == "a";
        assert!(!may_replace(Some(&a), &worse, a_trains), "a worse run must not overwrite a live one");
        assert!(may_replace(Some(&a), &better, a_trains));
        // Once that run has ended, the latest run wins, as in one tab.
        assert!(may_replace(Some(&a), &worse, |_| false));
        // Judged on other images (a subset's 100 test images, say): not comparable, the live
        // run's network stays, however high the figure.
        let elsewhere = Owner { measured_on: "100 test images".into(), ..run("b", 1.0) };
        assert!(!may_replace(Some(&a), &elsewhere, a_trains));
        assert!(!may_replace(Some(&a), &run("b", 0.98), a_trains), "a tie keeps the live run's");
    }

    #[test]
    fn a_run_replaces_its_own_best_and_a_loaded_file_replaces_anything() {
        let a = run("a", 0.98);
        assert!(may_replace(Some(&a), &run("a", 0.97), |_| true), "its own newer best (chosen on its held-out images)");
        let file = Owner { accuracy: 0.5, ..Owner::file() };
        assert!(may_replace(Some(&a), &file, |_| true));
        assert!(may_replace(Some(&file), &run("b", 0.1), |_| true), "a file has no run to protect");
        assert!(may_replace(None, &run("b", 0.1), |_| true));
        assert_eq!(lock_name("x1"), "mnist-studio-run-x1");
    }
}
