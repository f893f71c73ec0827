// Starts a trainer on the threaded build (scripts/build-threaded-worker.sh builds worker_mt*):
// on the CPU, with threads. The steps
// are worker_loader.js's, with this build's files.
self.mnistBuild = 'worker_mt';
importScripts('./worker_loader.js');
