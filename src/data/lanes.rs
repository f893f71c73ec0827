//! Decoding a parts file ([`super::parts`]) while it arrives, its parts on several threads:
//! the part of [`super::encoding::Streaming`] that knows about threads.
//!
//! With more than one thread (natively, and in the threaded browser build) each part is a
//! lane: a queue of its chunks, drained by a task on rayon's pool that decodes what is queued
//! and ends when the queue is empty (the next chunk starts another), so a pool thread never
//! waits for input. The receiving thread only copies chunks into the queues while the file
//! arrives: had it decoded a part itself, the parts behind it in the file (they arrive in
//! order) would reach the pool only after it, and two threads would save a quarter of the
//! time instead of half. Once every byte is in, [`Parts::finish`] runs queued tasks itself
//! (`rayon::yield_now`) before it waits: in the browser that thread is the pool's first one
//! (`worker/threads.rs`), so on two cores the decoding takes both. With one thread (the
//! single-threaded browser build) every chunk is decoded as it arrives, as a plain Brotli
//! file is.
//!
//! Any problem (a bad header, a part that fails, output past the limit) only stops the
//! decoding here: the caller then decodes the whole file again, serially, to report exactly
//! the error the whole file gives.

use std::ops::Range;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::encoding::Stream;
use super::parts;

/// A parts file being decoded as it arrives.
pub struct Parts {
    /// Whether the parts go to the pool (more than one thread offered, in a build with threads).
    pooled: bool,
    /// Each part's bytes in the file, once the header is in.
    layout: Option<Vec<Range<usize>>>,
    /// How much of the file has been handed to the lanes.
    fed: usize,
    lanes: Vec<Lane>,
    failed: bool,
    /// Output of all parts together, against [`super::encoding::INFLATED_LIMIT`].
    used: Arc<AtomicU64>,
}

impl Parts {
    /// `threads`: how many threads may decode (1 decodes everything on the caller's thread).
    pub fn new(threads: usize) -> Self {
        Self { pooled: cfg!(rayon_pool) && threads > 1, layout: None, fed: 0, lanes: Vec::new(), failed: false, used: Arc::default() }
    }

    /// `file` is everything received so far: decode what is new.
    pub fn feed(&mut self, file: &[u8]) {
        if self.failed {
            return;
        }
        if self.layout.is_none() {
            match parts::layout(file) {
                Ok(None) => return,
                Ok(Some(layout)) => {
                    self.fed = layout[0].start;
                    self.lanes = layout.iter().map(|part| Lane::new(self.pooled, part.len(), &self.used)).collect();
                    self.layout = Some(layout);
                }
                Err(_) => {
                    self.failed = true;
                    return;
                }
            }
        }
        let Some(layout) = &self.layout else { return };
        while self.fed < file.len() {
            // Past the last part: bytes the file should not have.
            let Some(part) = layout.iter().position(|r| r.contains(&self.fed)) else {
                self.failed = true;
                return;
            };
            let end = layout[part].end.min(file.len());
            self.lanes[part].push(&file[self.fed..end]);
            self.fed = end;
        }
    }

    /// The parts' outputs in order (the file is their concatenation), if every part arrived
    /// whole and decoded cleanly; `None` otherwise (the caller decodes the file again to say
    /// why).
    pub fn finish(self) -> Option<Vec<Vec<u8>>> {
        let layout = self.layout?;
        if self.failed || self.fed != layout.last()?.end {
            return None;
        }
        self.lanes.into_iter().map(Lane::finish).collect()
    }
}

/// One part's decoding: on this thread, or queued for the pool.
enum Lane {
    Here(Stream),
    #[cfg(rayon_pool)]
    Pool(Arc<pool::Queue>),
}

impl Lane {
    fn new(pooled: bool, length: usize, used: &Arc<AtomicU64>) -> Self {
        let stream = Stream::new(length as u64, used.clone());
        #[cfg(rayon_pool)]
        if pooled {
            return Lane::Pool(Arc::new(pool::Queue::new(stream)));
        }
        let _ = pooled;
        Lane::Here(stream)
    }

    fn push(&mut self, bytes: &[u8]) {
        match self {
            // A failed part is seen by `finish`.
            Lane::Here(stream) => {
                stream.push(bytes);
            }
            #[cfg(rayon_pool)]
            Lane::Pool(queue) => pool::Queue::push(queue, bytes),
        }
    }

    fn finish(self) -> Option<Vec<u8>> {
        match self {
            Lane::Here(mut stream) => stream.finish(),
            #[cfg(rayon_pool)]
            Lane::Pool(queue) => queue.finish(),
        }
    }
}

#[cfg(rayon_pool)]
mod pool {
    use std::collections::VecDeque;
    use std::sync::{Arc, Condvar, Mutex};

    use super::Stream;

    /// Chunks waiting for a part's decoder, and whether a task is draining them.
    struct Waiting {
        chunks: VecDeque<Vec<u8>>,
        draining: bool,
    }

    pub struct Queue {
        waiting: Mutex<Waiting>,
        drained: Condvar,
        /// Locked only by the one draining task, or by `finish` once none is.
        decoder: Mutex<Stream>,
    }

    impl Queue {
        pub fn new(decoder: Stream) -> Self {
            Self { waiting: Mutex::new(Waiting { chunks: VecDeque::new(), draining: false }), drained: Condvar::new(), decoder: Mutex::new(decoder) }
        }

        pub fn push(this: &Arc<Self>, bytes: &[u8]) {
            let mut waiting = this.waiting.lock().expect("no task panics holding it");
            waiting.chunks.push_back(bytes.to_vec());
            if !waiting.draining {
                waiting.draining = true;
                let queue = this.clone();
                rayon::spawn(move || queue.drain());
            }
        }

        /// Decode queued chunks until there are none; never waits for more.
        fn drain(&self) {
            loop {
                let next = {
                    let mut waiting = self.waiting.lock().expect("no task panics holding it");
                    match waiting.chunks.pop_front() {
                        Some(chunk) => chunk,
                        None => {
                            waiting.draining = false;
                            self.drained.notify_all();
                            return;
                        }
                    }
                };
                // A failed part is seen by `finish`.
                self.decoder.lock().expect("no task panics holding it").push(&next);
            }
        }

        fn draining(&self) -> Option<bool> {
            self.waiting.lock().ok().map(|w| w.draining)
        }

        /// Once every chunk pushed is decoded, the part's output. Until then this thread runs
        /// the pool's queued tasks, this part's or others', and waits only when none is left
        /// to start (a task still running elsewhere).
        pub fn finish(self: Arc<Self>) -> Option<Vec<u8>> {
            while self.draining()? {
                if !matches!(rayon::yield_now(), Some(rayon::Yield::Executed)) {
                    let mut waiting = self.waiting.lock().ok()?;
                    while waiting.draining {
                        waiting = self.drained.wait(waiting).ok()?;
                    }
                }
            }
            // The last task may still hold its `Arc` for an instant after it said it is done,
            // so the output is taken out rather than the queue unwrapped.
            self.decoder.lock().ok()?.finish()
        }
    }
}
