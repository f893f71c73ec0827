//! The one place that knows whether this build has threads for the CPU kernels of
//! [`super::conv`].
//!
//! Natively, and in the threaded browser build (the `rayon_pool` cfg, `build.rs`; see
//! `worker/threads.rs`), work is spread over rayon's global pool, the same pool burn's own CPU
//! kernels use. The single-threaded browser build has no rayon: the same loops run in order on
//! the worker's thread. Either way the work is split the same way, so results do not depend
//! on how many threads there are.
//!
//! Every section also passes through [`timeline`], which records where the time went only in
//! a build made for it (`--cfg mnist_timeline`) and otherwise compiles to nothing.

#[cfg(rayon_pool)]
mod imp {
    use rayon::prelude::*;

    use super::timeline;

    #[track_caller]
    pub fn for_each_chunk<S: Send>(
        out: &mut [f32],
        chunk: usize,
        scratch: impl Fn() -> S + Send + Sync,
        work: impl Fn(&mut S, usize, &mut [f32]) + Send + Sync,
    ) {
        let at = timeline::here();
        timeline::section(at, || {
            out.par_chunks_mut(chunk)
                .enumerate()
                .for_each_init(scratch, |s, (i, part)| timeline::task(at, || work(s, i, part)))
        })
    }

    #[track_caller]
    pub fn map<T: Send, S: Send>(
        count: usize,
        scratch: impl Fn() -> S + Send + Sync,
        work: impl Fn(&mut S, usize) -> T + Send + Sync,
    ) -> Vec<T> {
        let at = timeline::here();
        timeline::section(at, || (0..count).into_par_iter().map_init(scratch, |s, i| timeline::task(at, || work(s, i))).collect())
    }
}

#[cfg(not(rayon_pool))]
mod imp {
    use super::timeline;

    #[track_caller]
    pub fn for_each_chunk<S>(
        out: &mut [f32],
        chunk: usize,
        scratch: impl Fn() -> S,
        work: impl Fn(&mut S, usize, &mut [f32]),
    ) {
        let at = timeline::here();
        timeline::section(at, || {
            let mut s = scratch();
            for (i, part) in out.chunks_mut(chunk).enumerate() {
                timeline::task(at, || work(&mut s, i, part));
            }
        })
    }

    #[track_caller]
    pub fn map<T, S>(count: usize, scratch: impl Fn() -> S, work: impl Fn(&mut S, usize) -> T) -> Vec<T> {
        let at = timeline::here();
        timeline::section(at, || {
            let mut s = scratch();
            (0..count).map(|i| timeline::task(at, || work(&mut s, i))).collect()
        })
    }
}

/// Where the parallel sections' time goes, per call site and per thread: a diagnosis, compiled
/// in only with `RUSTFLAGS="--cfg mnist_timeline"` (README, "Profiling the CPU path"), and
/// otherwise functions that do nothing. A section's wall time against the time each thread
/// spent in its tasks says how much of it a thread sat idle, natively and in the browser
/// alike, which a sampling profiler cannot tell apart from the work of other sections.
pub mod timeline {
    pub(super) type Site = &'static std::panic::Location<'static>;

    #[track_caller]
    pub(super) fn here() -> Site {
        std::panic::Location::caller()
    }

    #[cfg(mnist_timeline)]
    mod on {
        use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::Relaxed};

        use super::Site;

        /// Call sites, threads: enough for this crate's sections and any pool a browser gives.
        const SITES: usize = 32;
        const THREADS: usize = 64;

        /// Each slot's call site, claimed by the first section there; then, per slot, lock-free
        /// tallies (nanoseconds), so that recording a task costs two clock reads and an add.
        static KEYS: [AtomicPtr<std::panic::Location<'static>>; SITES] = [const { AtomicPtr::new(std::ptr::null_mut()) }; SITES];
        static CALLS: [AtomicU64; SITES] = [const { AtomicU64::new(0) }; SITES];
        static WALL: [AtomicU64; SITES] = [const { AtomicU64::new(0) }; SITES];
        static TASKS: [AtomicU64; SITES] = [const { AtomicU64::new(0) }; SITES];
        static BUSY: [[AtomicU64; THREADS]; SITES] = [const { [const { AtomicU64::new(0) }; THREADS] }; SITES];

        fn slot(at: Site) -> Option<usize> {
            let key = at as *const _ as *mut _;
            for (i, k) in KEYS.iter().enumerate() {
                let seen = k.load(Relaxed);
                if seen == key {
                    return Some(i);
                }
                if seen.is_null() && k.compare_exchange(std::ptr::null_mut(), key, Relaxed, Relaxed).map_or_else(|x| x == key, |_| true) {
                    return Some(i);
                }
            }
            None
        }

        /// Nanoseconds.
        #[cfg(not(target_arch = "wasm32"))]
        fn now() -> u64 {
            (crate::platform::now_ms() * 1e6) as u64
        }

        /// `performance.now()` in nanoseconds (each thread's origin differs, but only
        /// differences are taken on one thread), its object looked up once per thread rather
        /// than on every call as `platform::now_ms` does: tasks can be a few microseconds.
        #[cfg(target_arch = "wasm32")]
        fn now() -> u64 {
            use wasm_bindgen::JsCast;
            thread_local! {
                static PERFORMANCE: Option<web_sys::Performance> =
                    js_sys::global().dyn_ref::<web_sys::WorkerGlobalScope>().and_then(|w| w.performance());
            }
            PERFORMANCE.with(|p| p.as_ref().map_or(0, |p| (p.now() * 1e6) as u64))
        }

        /// This thread's index in the pool, and the pool's size.
        fn threads() -> (usize, usize) {
            #[cfg(rayon_pool)]
            return (rayon::current_thread_index().unwrap_or(0), rayon::current_num_threads());
            #[cfg(not(rayon_pool))]
            return (0, 1);
        }

        pub fn section<T>(at: Site, f: impl FnOnce() -> T) -> T {
            let t0 = now();
            let r = f();
            if let Some(i) = slot(at) {
                CALLS[i].fetch_add(1, Relaxed);
                WALL[i].fetch_add(now() - t0, Relaxed);
            }
            r
        }

        pub fn task<T>(at: Site, f: impl FnOnce() -> T) -> T {
            let t0 = now();
            let r = f();
            let busy = now() - t0;
            if let Some(i) = slot(at) {
                TASKS[i].fetch_add(1, Relaxed);
                BUSY[i][threads().0.min(THREADS - 1)].fetch_add(busy, Relaxed);
            }
            r
        }

        pub fn reset() {
            for i in 0..SITES {
                for a in [&CALLS[i], &WALL[i], &TASKS[i]].into_iter().chain(BUSY[i].iter()) {
                    a.store(0, Relaxed);
                }
            }
        }

        pub fn report(steps: usize, ms_per_step: f64) -> Option<String> {
            let threads = threads().1.min(THREADS);
            let per = |ns: u64| ns as f64 / 1e6 / steps.max(1) as f64;
            let mut out = format!(
                "parallel sections, {threads} thread(s), ms per step of {ms_per_step:.1} (wall; each thread's time in tasks; idle = threads x wall - tasks)\n"
            );
            let mut rows: Vec<(String, usize)> = (0..SITES)
                .filter_map(|i| {
                    let key = KEYS[i].load(Relaxed);
                    // SAFETY: a non-null key is a `&'static Location` stored by `slot`.
                    (!key.is_null()).then(|| unsafe { &*key }).map(|at| (format!("{}:{}", at.file(), at.line()), i))
                })
                .collect();
            rows.sort();
            let (mut wall, mut idle) = (0.0, 0.0);
            for (at, i) in rows {
                let busy: Vec<f64> = BUSY[i][..threads].iter().map(|b| per(b.load(Relaxed))).collect();
                let w = per(WALL[i].load(Relaxed));
                let lost = threads as f64 * w - busy.iter().sum::<f64>();
                (wall, idle) = (wall + w, idle + lost);
                let each: Vec<String> = busy.iter().map(|b| format!("{b:.2}")).collect();
                out += &format!(
                    "  {at}: {:.1} calls, {:.1} tasks, wall {w:.2}, tasks [{}], idle {lost:.2}\n",
                    CALLS[i].load(Relaxed) as f64 / steps.max(1) as f64,
                    TASKS[i].load(Relaxed) as f64 / steps.max(1) as f64,
                    each.join(" "),
                );
            }
            out += &format!("  in these sections {wall:.1} ms/step (idle {idle:.1} thread-ms), outside them {:.1}", ms_per_step - wall);
            Some(out)
        }
    }

    #[cfg(not(mnist_timeline))]
    mod on {
        use super::Site;

        #[inline(always)]
        pub fn section<T>(_: Site, f: impl FnOnce() -> T) -> T {
            f()
        }

        #[inline(always)]
        pub fn task<T>(_: Site, f: impl FnOnce() -> T) -> T {
            f()
        }

        pub fn reset() {}

        /// `None`: this build keeps no timeline.
        pub fn report(_steps: usize, _ms_per_step: f64) -> Option<String> {
            None
        }
    }

    pub(super) use on::{section, task};
    /// Forget what was recorded: the next [`report`] covers what runs from now on.
    pub use on::reset;
    /// What was recorded since [`reset`], per step of `steps`, when this build records it.
    pub use on::report;
}

/// Calls `work(scratch, i, part)` for each `chunk`-sized part `i` of `out`, perhaps on several
/// threads at once; each thread makes its own `scratch` once and reuses it.
pub use imp::for_each_chunk;

/// `work(scratch, i)` for `i` in `0..count`, perhaps on several threads at once, results in
/// order of `i`.
pub use imp::map;
