//! The training worker's entry point (see `mnist_studio::worker`).

#[cfg(target_arch = "wasm32")]
fn main() {
    mnist_studio::platform::run_static_constructors();
    mnist_studio::worker::start();
}

// The worker only exists in the browser.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
