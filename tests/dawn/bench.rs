//! The wasm side of the Dawn harness (`tests/dawn/bench.mjs`): this app's very training step,
//! burn's wgpu backend on WebGPU with our kernels, exported to Node, where Dawn (Chrome's
//! WebGPU implementation, npm `webgpu`) stands in for the browser's `navigator.gpu`. The same
//! measurement as the page's speed panel (`train::bench::measure`: the first step alone, a
//! few warm-up steps, timed steps ended by one read), so its figures can be set beside the
//! browser's, and run on a machine that has a real GPU but no browser.
//!
//! Built by the harness: `cargo build --release --target wasm32-unknown-unknown --features
//! webgpu --example dawn_bench`, then `wasm-bindgen --target nodejs`. Natively there is nothing to run.

#[cfg(target_arch = "wasm32")]
mod harness {
    use mnist_studio::data::{PixelStats, Split};
    use mnist_studio::model::NetworkKind;
    use mnist_studio::train::batch::DeviceSplit;
    use mnist_studio::worker::gpu;
    use wasm_bindgen::prelude::*;

    /// Time `network` (an id: `linear`, `vgg`, …) training at `batch` on the first
    /// `images_used` images of MNIST's training files (raw or gzip bytes), normalised with the
    /// whole set's statistics, as the page does. Returns `train::bench::BenchResult` as an
    /// object.
    #[wasm_bindgen]
    pub async fn measure(
        images: Vec<u8>,
        labels: Vec<u8>,
        network: String,
        batch: usize,
        images_used: usize,
        warmup: usize,
        timed: usize,
    ) -> Result<JsValue, JsValue> {
        let fail = |e: String| JsValue::from_str(&e);
        let kind = NetworkKind::from_id(&network).ok_or_else(|| fail(format!("no network called {network}")))?;
        let split = Split::from_files(("train-images", images), ("train-labels", labels)).map_err(|e| fail(e.to_string()))?;
        let stats = PixelStats::of_pixels(split.images());
        let device = gpu::init_device().await.map_err(fail)?;
        let on_device = DeviceSplit::upload(&split.head(images_used), &device);
        let result = mnist_studio::train::bench::measure(kind, &on_device, &stats, &device, batch, warmup, timed)
            .await
            .map_err(|e| fail(e.to_string()))?;
        serde_wasm_bindgen::to_value(&result).map_err(|e| fail(e.to_string()))
    }
}

fn main() {}
