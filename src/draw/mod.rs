//! Turning a drawing into an MNIST digit. Pure functions, tested natively: the canvas code
//! in the UI only hands over pixels.

pub mod preprocess;
pub mod reading;

pub use preprocess::{ink_extent, preprocess, Ink};
