// The page's copy of itself, for the next visit and for use offline: this build's files
// (the app, both worker builds, the default network, MNIST compressed) are fetched once,
// when the page says its dataset is in (or failed: www/boot.js), and then served from the
// cache. The page itself is fetched
// from the network whenever there is one, so a new build is found at once; its service
// worker (a new VERSION) takes over and deletes the old copy. Nothing here is needed for the
// page to work: if a request cannot be answered from the copy, it goes to the network as
// if there were no service worker, and a failed cache write is ignored.
// VERSION and FILES are written into the built copy by scripts/stamp-service-worker.sh.
const VERSION = 'unstamped';
const FILES = [];
const CACHE = `mnist-studio-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One by one, so one failure (a file missing from this server) keeps the others.
    await Promise.all(FILES.map((file) => cache.add(new URL(file, self.registration.scope)).catch(() => {})));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('mnist-studio-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(respond(request));
});

async function respond(request) {
  const cache = await caches.open(CACHE).catch(() => null);
  if (request.mode === 'navigate') {
    // The newest page when online; this build's copy (whatever the query) when not.
    try {
      return await fetch(request);
    } catch (offline) {
      const copy = await cache?.match(new URL('index.html', self.registration.scope));
      if (copy) return copy;
      throw offline;
    }
  }
  // The trainers' scripts carry their settings in the query (worker_loader.js?backend=cpu): the
  // file is the same. A worker reads its query from the URL of the response it was started
  // with, so the kept response is answered as a new one, which takes the request's URL.
  const copy = await cache?.match(request, { ignoreSearch: true });
  if (!copy) return fetch(request);
  return new URL(request.url).search ? new Response(copy.body, copy) : copy;
}
