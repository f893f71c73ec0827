//! MNIST as the app sees it: the four IDX files, checked and parsed into compact byte
//! arrays, with the statistics the networks normalise by.
//!
//! Everything here is pure and runs natively in `cargo test`; only [`fetch`] touches the
//! browser. Every byte that comes from outside is treated as hostile until
//! [`idx`] has checked it.

pub mod augment;
pub mod dataset;
#[cfg(not(target_arch = "wasm32"))]
pub mod doodles;
pub mod error;
#[cfg(not(target_arch = "wasm32"))]
pub mod files;
#[cfg(target_arch = "wasm32")]
pub mod fetch;
pub mod encoding;
pub mod idx;
pub mod lanes;
pub mod packed;
pub mod parts;
pub mod source;
pub mod stats;
pub mod strokes;

pub use dataset::{Mnist, Split};
pub use error::{DataError, FileProblem};
pub use source::{DataSource, Encoding};
pub use idx::{IMAGE_PIXELS, IMAGE_SIDE};
pub use stats::PixelStats;
