//! The one place that knows whether this build has threads for the CPU kernels of
//! [`super::conv`].
//!
//! Natively, and in the threaded browser build (the `atomics` target feature, see
//! `worker/threads.rs`), work is spread over rayon's global pool, the same pool burn's own CPU
//! kernels use. The single-threaded browser build has no rayon: the same loops run in order on
//! the worker's thread. Either way the work is split the same way, so results do not depend
//! on how many threads there are.

#[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
mod imp {
    use rayon::prelude::*;

    pub fn for_each_chunk<S: Send>(
        out: &mut [f32],
        chunk: usize,
        scratch: impl Fn() -> S + Send + Sync,
        work: impl Fn(&mut S, usize, &mut [f32]) + Send + Sync,
    ) {
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each_init(scratch, |s, (i, part)| work(s, i, part));
    }

    pub fn map<T: Send, S: Send>(
        count: usize,
        scratch: impl Fn() -> S + Send + Sync,
        work: impl Fn(&mut S, usize) -> T + Send + Sync,
    ) -> Vec<T> {
        (0..count).into_par_iter().map_init(scratch, work).collect()
    }
}

#[cfg(not(any(not(target_arch = "wasm32"), target_feature = "atomics")))]
mod imp {
    pub fn for_each_chunk<S>(
        out: &mut [f32],
        chunk: usize,
        scratch: impl Fn() -> S,
        work: impl Fn(&mut S, usize, &mut [f32]),
    ) {
        let mut s = scratch();
        for (i, part) in out.chunks_mut(chunk).enumerate() {
            work(&mut s, i, part);
        }
    }

    pub fn map<T, S>(count: usize, scratch: impl Fn() -> S, work: impl Fn(&mut S, usize) -> T) -> Vec<T> {
        let mut s = scratch();
        (0..count).map(|i| work(&mut s, i)).collect()
    }
}

/// Calls `work(scratch, i, part)` for each `chunk`-sized part `i` of `out`, perhaps on several
/// threads at once; each thread makes its own `scratch` once and reuses it.
pub use imp::for_each_chunk;

/// `work(scratch, i)` for `i` in `0..count`, perhaps on several threads at once, results in
/// order of `i`.
pub use imp::map;
