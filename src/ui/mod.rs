//! The page: yew components over one reducer ([`state::Studio`]) fed by the worker.
//! Nothing here touches a tensor; the page only posts requests and renders reports.

pub mod bridge;
pub mod components;
mod hooks;
pub mod state;

/// Mount the studio on the page's body.
pub fn run() {
    console_error_panic_hook::set_once();
    yew::Renderer::<components::app::App>::new().render();
}
