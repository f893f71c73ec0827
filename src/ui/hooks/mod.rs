//! Custom hooks.

mod use_refocus;
mod use_worker;

pub use use_refocus::use_refocus;
pub use use_worker::use_worker;
