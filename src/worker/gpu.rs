//! burn's WebGPU device, once [`super::adapter::probe`] has found an adapter.

use burn::prelude::*;
use burn::tensor::wgpu::{wgpu, WgpuSetup};

thread_local! {
    /// The wgpu device under burn's, kept to simulate a GPU loss in tests.
    static RAW: std::cell::RefCell<Option<burn::tensor::wgpu::wgpu::Device>> = const { std::cell::RefCell::new(None) };
}

/// Destroy the WebGPU device, as a driver reset would: every later operation on it fails.
/// Returns whether there was one.
pub fn lose_device() -> bool {
    RAW.with_borrow(|raw| raw.as_ref().map(|d| d.destroy()).is_some())
}

/// The WebGPU device, asked for WebGPU's default limits and no optional feature: every
/// kernel that runs (burn's and ours, `kernels/gpu_*.rs`) fits in them (at most 8 storage buffers
/// per stage, 16 KiB of workgroup memory, 256 invocations per workgroup; the largest buffer,
/// the packed training set, is 47 MB of the 128 MiB a binding may hold), so training works on
/// any adapter, including the many laptops that report no more than the defaults. (cubecl,
/// left to itself, asks for everything the adapter offers.)
async fn request_setup() -> Result<WgpuSetup, String> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::BROWSER_WEBGPU,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("no WebGPU adapter: {e}"))?;
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("mnist-studio"),
            required_features: wgpu::Features::empty(),
            required_limits: wgpu::Limits::defaults(),
            memory_hints: wgpu::MemoryHints::MemoryUsage,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("the WebGPU adapter refused a device with the default limits: {e}"))?;
    Ok(WgpuSetup { instance, adapter, device, queue, backend: wgpu::Backend::BrowserWebGpu })
}

/// Refuse a batch whose largest buffer ([`crate::model::sizes::largest_buffer_per_image`]) this
/// device cannot hold in one binding: the allocation would fail in the middle of the first
/// step. With WebGPU's default limits (128 MiB, what the device is asked for) the VGG
/// networks take at most 1,337 images a batch; the form allows 4,096, which the CPU trains.
pub fn batch_fits(network: crate::model::NetworkKind, batch: usize) -> Result<(), String> {
    let Some(limits) = device_limits() else { return Ok(()) };
    let limit = u64::from(limits.max_storage_buffer_binding_size).min(limits.max_buffer_size);
    let per_image = crate::model::sizes::largest_buffer_per_image(network != crate::model::NetworkKind::Linear);
    let most = limit / per_image;
    if batch as u64 <= most {
        return Ok(());
    }
    Err(format!(
        "a batch of {batch} images is too large for WebGPU here: {} needs buffers of {:.0} MB, and this GPU is asked for {:.0} MB at most. Choose a batch of at most {most}, or train on the CPU",
        network.title(),
        (batch as u64 * per_image) as f64 / 1e6,
        limit as f64 / 1e6,
    ))
}

/// The limits the WebGPU device was created with (for tests: WebGPU's defaults).
pub fn device_limits() -> Option<wgpu::Limits> {
    RAW.with_borrow(|raw| raw.as_ref().map(|d| d.limits()))
}

/// burn's WebGPU device, with autodiff for training: created once per page or worker, then
/// shared (burn refuses a second initialisation, so concurrent callers wait for the first).
///
/// The graphics API is named explicitly: the options' default device is not the one
/// `Device::default()` would create, and creating a second one lazily panics on wasm.
pub async fn init_device() -> Result<Device, String> {
    crate::platform::run_static_constructors();
    enum State {
        Empty,
        Starting,
        Done(Result<Device, String>),
    }
    thread_local! {
        static STATE: std::cell::RefCell<State> = const { std::cell::RefCell::new(State::Empty) };
    }
    loop {
        let first = STATE.with_borrow_mut(|state| match state {
            State::Done(result) => Some(Some(result.clone())),
            State::Starting => Some(None),
            State::Empty => {
                *state = State::Starting;
                None
            }
        });
        match first {
            Some(Some(result)) => return result,
            Some(None) => gloo::timers::future::TimeoutFuture::new(20).await,
            None => {
                let result = match request_setup().await {
                    Ok(setup) => {
                        let raw = setup.device.clone();
                        Device::wgpu_options()
                            .setup(setup)
                            .init()
                            .map(|device| {
                                RAW.with_borrow_mut(|r| *r = Some(raw));
                                device.autodiff()
                            })
                            .map_err(|e| format!("could not start burn's WebGPU device: {e:?}"))
                    }
                    Err(e) => Err(e),
                };
                STATE.with_borrow_mut(|state| *state = State::Done(result.clone()));
                return result;
            }
        }
    }
}
