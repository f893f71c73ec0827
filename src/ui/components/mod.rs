//! One component per file.

pub mod app;
pub mod bench_panel;
pub mod chart;
pub mod dataset_panel;
pub mod digit;
pub mod draw_panel;
pub mod gpu_badge;
pub mod inside_view;
pub mod run_view;
pub mod runs_panel;
pub mod threads_status;
pub mod train_controls;
pub mod weights_panel;
