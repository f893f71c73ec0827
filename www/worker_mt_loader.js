// Starts a worker on the threaded build (scripts/build-threaded-worker.sh builds worker_mt*):
// a trainer on the CPU with threads, or the reader where the page may share memory. The steps
// are worker_loader.js's, with this build's files.
self.mnistBuild = 'worker_mt';
importScripts('./worker_loader.js');
