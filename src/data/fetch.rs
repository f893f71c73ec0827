//! Downloading the MNIST files over HTTP from the page's own origin, with byte-level
//! progress. Works in a window and in a worker (it uses whichever global it runs in).

use futures::future::try_join_all;
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, Response};

use super::dataset::{Mnist, FILES};
use super::source::DataSource;
use super::error::{DataError, FileProblem};
use super::encoding::{Streaming, INFLATED_LIMIT};

/// Download progress over all four files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    pub received: u64,
    /// Sum of the Content-Lengths seen so far; `None` until every file has answered.
    pub total: Option<u64>,
}

/// Fetch, decode, parse and check all four files. `on_progress` is called as bytes arrive.
/// Each file is decoded while it downloads ([`Streaming`]), so on a slow connection the
/// decoding is done when the last byte arrives; the files are then finished and checked in
/// [`FILES`] order, so a bad file is reported as it would be after a plain download.
/// `threads`: how many threads may decode a file served in parts (the threaded trainer's
/// pool, once started; 1 elsewhere).
pub async fn load_mnist(source: &DataSource, threads: usize, on_progress: impl Fn(Progress)) -> Result<Mnist, DataError> {
    let state = std::cell::RefCell::new(([0u64; 4], [None::<u64>; 4]));
    let report = |index: usize, received: u64, total: Option<u64>| {
        let mut s = state.borrow_mut();
        s.0[index] = received;
        s.1[index] = total;
        let totals: Option<u64> = s.1.iter().copied().sum();
        on_progress(Progress { received: s.0.iter().sum(), total: totals });
    };
    let downloads = FILES.iter().enumerate().map(|(index, name)| {
        let url = source.url(name);
        let report = &report;
        async move {
            let mut streaming = Streaming::on_threads(threads);
            fetch_into(&url, name, &mut streaming, |got, total| report(index, got, total)).await?;
            Ok::<_, DataError>(streaming)
        }
    });
    let files: [Streaming; 4] = try_join_all(downloads).await?.try_into().ok().expect("four downloads should give four files");
    Mnist::decoded_by(files.map(|file| move || file.finish()))
}

/// Where [`fetch_into`] puts a body's chunks as they arrive.
pub trait Sink {
    /// The body's length as the server gave it (a hint), before the first chunk.
    fn expect(&mut self, total: Option<u64>);
    fn push(&mut self, chunk: &[u8]);
}

impl Sink for Vec<u8> {
    fn expect(&mut self, total: Option<u64>) {
        self.reserve(total.unwrap_or(0) as usize);
    }

    fn push(&mut self, chunk: &[u8]) {
        self.extend_from_slice(chunk);
    }
}

impl Sink for Streaming {
    fn expect(&mut self, total: Option<u64>) {
        Streaming::expect(self, total);
    }

    fn push(&mut self, chunk: &[u8]) {
        Streaming::push(self, chunk);
    }
}

/// GET `url` and read its body chunk by chunk. `file` names it in errors.
pub async fn fetch_bytes(url: &str, file: &str, on_chunk: impl Fn(u64, Option<u64>)) -> Result<Vec<u8>, DataError> {
    let mut bytes = Vec::new();
    fetch_into(url, file, &mut bytes, on_chunk).await?;
    Ok(bytes)
}

/// How long a download may go without a byte before it is given up: one that stops sending
/// and never ends (a stalled link, a proxy holding the response) would otherwise leave the
/// page loading for good, with no Retry. Longer than the page's own limit (30 s,
/// `www/boot.js`), so that where the page downloads and this reads its replay, the page's
/// watchdog speaks, as the download's own failure; here it is the backstop, and the only one
/// where the trainer downloads the files itself.
pub const IDLE_MS: u32 = 40_000;

/// `promise` as it settled, or `None` if it has not after [`IDLE_MS`].
async fn within_idle(promise: js_sys::Promise) -> Option<Result<JsValue, JsValue>> {
    let timer = gloo::timers::future::TimeoutFuture::new(IDLE_MS);
    match futures::future::select(JsFuture::from(promise), timer).await {
        futures::future::Either::Left((settled, _)) => Some(settled),
        futures::future::Either::Right(_) => None,
    }
}

/// What a download that went [`IDLE_MS`] without a byte failed with.
fn stalled() -> JsValue {
    let error = js_sys::Error::new(&format!("no data came for {} s", IDLE_MS / 1000));
    error.set_name("TimeoutError");
    error.into()
}

/// Ends a download that is given up on: its request is aborted (so its connection is not held
/// until the browser gives up, where a Retry over HTTP/1.1 could queue behind it) and its body
/// cancelled (a replay of the page's download, which no signal reaches). Dropped unfinished
/// when the download fails, stalls, or is dropped because another file's failed
/// (`try_join_all`); disarmed by [`Abandon::finished`].
struct Abandon {
    controller: Option<web_sys::AbortController>,
    reader: Option<ReadableStreamDefaultReader>,
}

impl Abandon {
    fn finished(mut self) {
        self.controller = None;
        self.reader = None;
    }
}

impl Drop for Abandon {
    fn drop(&mut self) {
        if let Some(controller) = self.controller.take() {
            controller.abort();
        }
        if let Some(reader) = self.reader.take() {
            // A stream that has failed or was aborted answers the cancel with a rejection:
            // handled, or it would be reported as an uncaught error.
            let quiet = Closure::once(|_: JsValue| {});
            let _ = reader.cancel().catch(&quiet);
            quiet.forget();
        }
    }
}

/// GET `url` and hand its body to `sink` chunk by chunk, at most [`INFLATED_LIMIT`] bytes.
/// `file` names it in errors; `on_chunk` hears the bytes received so far and the length.
pub async fn fetch_into(url: &str, file: &str, sink: &mut impl Sink, on_chunk: impl Fn(u64, Option<u64>)) -> Result<(), DataError> {
    let network = |received: u64, e: JsValue| DataError::Network {
        file: file.to_owned(),
        received,
        reason: describe(&e),
    };
    let mut abandon = Abandon { controller: web_sys::AbortController::new().ok(), reader: None };
    let signal = abandon.controller.as_ref().map(|c| c.signal());
    let response: Response = within_idle(global_fetch(url, signal.as_ref())?)
        .await
        .unwrap_or_else(|| Err(stalled()))
        .map_err(|e| network(0, e))?
        .dyn_into()
        .map_err(|e| network(0, e))?;
    if !response.ok() {
        return Err(DataError::Http {
            file: file.to_owned(),
            status: response.status(),
            status_text: response.status_text(),
        });
    }
    // The server's length is a hint for the progress bar and the buffer, never trusted beyond
    // the limit: a hostile header must not make us allocate gigabytes.
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(t) = total.filter(|&t| t > INFLATED_LIMIT) {
        return Err(FileProblem::TooLarge { limit: INFLATED_LIMIT.min(t) }.in_file(file));
    }
    let body = response.body().ok_or_else(|| network(0, JsValue::from_str("empty body")))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    abandon.reader = Some(reader.clone());
    sink.expect(total);
    on_chunk(0, total);
    let (mut received, mut chunk) = (0u64, Vec::new());
    loop {
        let next = within_idle(reader.read())
            .await
            .unwrap_or_else(|| Err(stalled()))
            .map_err(|e| network(received, e))?;
        if Reflect::get(&next, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true) {
            break;
        }
        let value: Uint8Array = Reflect::get(&next, &"value".into())
            .map_err(|e| network(received, e))?
            .unchecked_into();
        received += u64::from(value.length());
        if received > INFLATED_LIMIT {
            return Err(FileProblem::TooLarge { limit: INFLATED_LIMIT }.in_file(file));
        }
        chunk.resize(value.length() as usize, 0);
        value.copy_to(&mut chunk);
        sink.push(&chunk);
        on_chunk(received, total);
    }
    abandon.finished();
    Ok(())
}

/// `fetch` from a window or from a worker, whichever this code runs in. A trainer's loader
/// defines `mnistFetch` (`www/prefetched.js`), which answers the MNIST files from the page's
/// own downloads, started before this worker was (`www/boot.js`), and anything else from the
/// network: it is used where present.
fn global_fetch(url: &str, signal: Option<&web_sys::AbortSignal>) -> Result<js_sys::Promise, DataError> {
    let global = js_sys::global();
    let init = web_sys::RequestInit::new();
    init.set_signal(signal);
    let handed = Reflect::get(&global, &"mnistFetch".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(promise) = handed.and_then(|f| f.call2(&global, &url.into(), &init).ok()).and_then(|p| p.dyn_into::<js_sys::Promise>().ok()) {
        return Ok(promise);
    }
    if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        Ok(window.fetch_with_str_and_init(url, &init))
    } else if let Some(worker) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        Ok(worker.fetch_with_str_and_init(url, &init))
    } else {
        Err(DataError::Network {
            file: url.to_owned(),
            received: 0,
            reason: "this JavaScript context has no fetch".into(),
        })
    }
}

/// A readable message from a JS exception (`TypeError: Failed to fetch`, ...).
pub fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| format!("{}: {}", e.name(), e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
