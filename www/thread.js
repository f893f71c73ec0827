// One thread of the CPU backend's pool (src/worker/threads.rs): the threaded worker's own
// wasm module, instantiated again here on the same shared memory. The training worker posts
// [the module's script URL, the compiled module, the memory, this thread's queue, the page's
// channel for a failed thread]; the thread says "ready" once its instance is up, then runs
// rayon's thread loop until the pool ends.
self.onmessage = ({ data: [script, module, memory, queue, channel] }) => {
  let running = false;
  try {
    importScripts(script);
    wasm_bindgen.initSync({ module, memory });
    postMessage('ready');
    running = true;
    wasm_bindgen.mnist_pool_thread(queue);
  } catch (e) {
    // Failed once running (a trap: a panic, memory that cannot grow): the trainer's thread
    // may be waiting for this one's work for good and cannot hear it, so the page is told
    // directly (src/ui/bridge.rs). A failure before "ready" reaches the trainer, which is
    // listening then (its start gives up the pool).
    if (running && channel) {
      const page = new BroadcastChannel(channel);
      page.postMessage(String(e?.message ?? e));
      page.close();
    }
    throw e;
  } finally {
    // Reached only when the pool was never built (this thread or another failed to start,
    // or took too long), or this thread failed: it ends, rather than idle on. A failure still
    // reaches the trainer as this worker's error event (and at worst its wait for the
    // threads runs out).
    close();
  }
};
