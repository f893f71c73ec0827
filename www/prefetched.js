// The worker's end of the page's MNIST downloads (www/boot.js): with each request to load
// the dataset the page first posts a stream per file, replaying its download from the first
// byte; the wasm's fetch (src/data/fetch.rs) goes through mnistFetch, which answers a file
// from its stream once and from the network otherwise (any other file; a page that could not
// post the streams).
const prefetched = new Map();

// Registered before the wasm's own handler, so the wasm never sees this message.
self.addEventListener('message', (event) => {
  const streams = event.data?.mnistPrefetched;
  if (!streams) return;
  event.stopImmediatePropagation();
  for (const [url, stream] of Object.entries(streams)) {
    prefetched.get(url)?.cancel();
    prefetched.set(url, stream);
  }
});

// `init` carries the wasm's abort signal: a download it gives up on (stalled, or another
// file's failed) is aborted on the network and its replay cancelled.
self.mnistFetch = async (url, init) => {
  const stream = prefetched.get(url);
  if (!stream) return fetch(url, init);
  prefetched.delete(url);
  const reader = stream.getReader();
  init?.signal?.addEventListener('abort', () => reader.cancel().catch(() => {}), { once: true });
  const { value: head } = await reader.read();
  if (!head) return fetch(url, init);
  if (head.failed) throw Object.assign(new TypeError(head.failed.message), { name: head.failed.name });
  const body = new ReadableStream({
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
  const headers = head.length == null ? {} : { 'content-length': head.length };
  // A status that cannot carry a body (204, 304, ...) never comes from a file server; should
  // one, the network answers instead of a Response that cannot be built.
  try {
    return new Response(body, { status: head.status, statusText: head.statusText, headers });
  } catch {
    reader.cancel();
    return fetch(url, init);
  }
};
