//! The page's entry point (see `mnist_studio::ui`).

#[cfg(target_arch = "wasm32")]
fn main() {
    mnist_studio::platform::run_static_constructors();
    mnist_studio::ui::run();
}

// The page only exists in the browser.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
