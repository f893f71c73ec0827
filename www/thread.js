// One thread of the CPU backend's pool (src/worker/threads.rs): the threaded worker's own
// wasm module, instantiated again here on the same shared memory. The training worker posts
// [the module's script URL, the compiled module, the memory, this thread's queue]; the thread
// says "ready" once its instance is up, then runs rayon's thread loop until the pool ends.
self.onmessage = ({ data: [script, module, memory, queue] }) => {
  try {
    importScripts(script);
    wasm_bindgen.initSync({ module, memory });
    postMessage('ready');
    wasm_bindgen.mnist_pool_thread(queue);
  } finally {
    // Reached only when the pool was never built (this thread or another failed to start,
    // or took too long): this thread ends, rather than idle on. A failure still reaches the
    // trainer as this worker's error event (and at worst its wait for the threads runs out).
    close();
  }
};
