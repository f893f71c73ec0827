// The page's copy of itself, for the next visit and for use offline: this build's files
// (the app, both worker builds, the default network, MNIST compressed) are fetched once,
// when the page says its dataset is in (or failed: www/boot.js), and kept. Files whose name
// changes with their content (the app's wasm, script and styles, which Trunk names by their
// hash) and MNIST's files (checked by SHA-256 at setup: the same bytes under the same name,
// whatever the build) are answered from the copy. Every other file keeps its name from build
// to build (the workers' scripts and wasm, boot.js, the default network): it and the page are
// fetched from the network whenever there is one, revalidated (a 304 when unchanged), and
// from the copy only when the network fails. So a page of a new build never runs an older
// build's workers from the copy; its service worker (a new VERSION) then takes over and
// deletes the old copy. Nothing here is needed for the page to work: if a request cannot be
// answered from the copy, it goes to the network as if there were no service worker. A
// copy is kept whole or not at all: if one of the app's files cannot be fetched, the install
// fails, the previous copy (if any) stays, and the next visit tries again; a data file that
// cannot be fetched (a host without them) is left out.
// VERSION and FILES are written into the built copy by scripts/stamp-service-worker.sh.
const VERSION = 'unstamped';
const FILES = [];
// Named by the scope as well: copies of the app at two paths of one origin (two projects on
// one GitHub Pages account) each keep their own copy, and a new build of one deletes only its
// own older copies. A path holds no space (it would be %20), so the name splits at the space.
const SCOPE = new URL(self.registration.scope).pathname;
const CACHE = `mnist-studio-${VERSION} ${SCOPE}`;
// This scope's copy of another build; or a copy named before names held the scope (no space),
// which cannot tell whose it was: the copies of older builds are deleted once, whichever path
// they served.
const older = (name) => name.startsWith('mnist-studio-') && name !== CACHE && (!name.includes(' ') || name.slice(name.indexOf(' ') + 1) === SCOPE);

// MNIST's files, and those named by Trunk after their content (app-0123456789abcdef_bg.wasm).
const DATA = new URL('data/', self.registration.scope).pathname;
const isData = (url) => url.pathname.startsWith(DATA);
// Trunk's hash drops leading zeros (app-db494a3ca28dbc2_bg.wasm: 15 digits), so 8 to 16.
const immutable = (url) => isData(url) || /-[0-9a-f]{8,16}(_bg)?\.[a-z]+$/.test(url.pathname);

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // Revalidated, not taken from the HTTP cache as it stands: an entry still fresh there may
    // be the previous build's file under the same name.
    const urls = FILES.map((file) => new URL(file, self.registration.scope));
    const results = await Promise.allSettled(urls.map((url) => cache.add(new Request(url, { cache: 'no-cache' }))));
    const missing = FILES.filter((file, i) => results[i].status === 'rejected' && !isData(urls[i]));
    if (missing.length) {
      await caches.delete(CACHE);
      throw new Error(`the offline copy was not kept: ${missing.join(', ')} could not be fetched`);
    }
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (older(name)) await caches.delete(name);
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
  const url = new URL(request.url);
  if (request.mode === 'navigate') {
    // The newest page when online; this build's copy (whatever the query) when not, answered
    // as a new response (a host that redirects index.html to / would have the copy marked as
    // redirected, which a navigation refuses). Revalidated, as the files that keep their name
    // are below: a page still fresh in the HTTP cache (a host sending max-age, as GitHub
    // Pages does) would be the previous build's, run with this build's boot.js and workers.
    // A redirect is handed back for the browser to follow, as the navigation itself would.
    try {
      return await fetch(request.url, { cache: 'no-cache', credentials: request.credentials, redirect: 'manual' });
    } catch (offline) {
      const copy = await cache?.match(new URL('index.html', self.registration.scope)).catch(() => undefined);
      if (copy) return new Response(copy.body, copy);
      throw offline;
    }
  }
  // The trainers' scripts carry their settings in the query (worker_loader.js?backend=cpu): the
  // file is the same. A worker reads its query from the URL of the response it was started
  // with, so the kept response is answered as a new one, which takes the request's URL.
  const kept = async () => {
    // A broken cache storage answers as if it had no copy: the network decides.
    const copy = await cache?.match(request, { ignoreSearch: true }).catch(() => undefined);
    return copy && (url.search ? new Response(copy.body, copy) : copy);
  };
  if (immutable(url)) return (await kept()) ?? fetch(request);
  try {
    return await fetch(request, { cache: 'no-cache' });
  } catch (offline) {
    const copy = await kept();
    if (copy) return copy;
    throw offline;
  }
}
