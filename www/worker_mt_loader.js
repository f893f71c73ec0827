// Starts a trainer on the threaded build (scripts/build-threaded-worker.sh builds worker_mt*):
// on the CPU, with threads. The steps
// are worker_loader.js's, with this build's files.
self.mnistBuild = 'worker_mt';
// With this worker's query: worker_loader.js reads it, and the version in it keeps a cached
// copy of another build's worker_loader.js from answering.
importScripts(`./worker_loader.js${self.location.search}`);
