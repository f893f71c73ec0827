// The page's copy of itself, for the next visit and for use offline: this build's files
// (the app, both worker builds, the default network, MNIST compressed) are fetched once,
// when the page says its dataset is in (or failed: www/boot.js), and kept. Answered from the
// copy first: files whose name changes with their content (the app's wasm, script and
// styles, which Trunk names by their hash), MNIST's files (kept only when their SHA-256 is
// this build's, DATA_SHA256), and files asked for by this build's
// version (`?version=`: the page asks for every file that keeps its name from build to build,
// the workers' scripts and wasm, boot.js, the default network, by its own build's version).
// Asked for by another build's version (a page of a newer build, before its own service
// worker takes over): from the network only, never from this copy. Every other file, and the
// page itself, is fetched from the network whenever there is one, revalidated (a 304 when
// unchanged), and from the copy only when the network fails (or, for the page, gives no
// answer within NAVIGATION_MS: a connection that stalls; only the app's own page, never
// another path's in this scope). So a page never runs another
// build's files from the copy; a new build's service worker (a new VERSION) takes over and
// deletes the old copy. Nothing here is needed for the page to work: if a request cannot be
// answered from the copy, it goes to the network as if there were no service worker. A
// copy is kept whole or not at all: if one of the app's files cannot be fetched, or the
// server's files are of another build, the install fails, the previous copy (if any) stays,
// and the next visit tries again; a data file is taken from the previous copy when it is this
// build's (by its SHA-256), else fetched, and left out when it cannot be (a host without them).
// VERSION, FILES and DATA_SHA256 (each data file's hash) are written into the built copy by
// scripts/stamp-service-worker.sh.
const VERSION = 'unstamped';
const FILES = [];
const DATA_SHA256 = {};
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
// The build a request names (www/boot.js's `versioned`), if any.
const buildOf = (url) => url.searchParams.get('version');
// How long the page's own request may wait for the network's answer (its head) before the
// copy answers: a connection that neither answers nor fails (a weak signal that drops
// packets) would otherwise hold the page blank however complete the copy.
const NAVIGATION_MS = 4000;
// The files that name their build (scripts/stamp-service-worker.sh writes VERSION into them
// too), and how: the copy is refused unless they name this one, so it never mixes two builds
// (the server's files may have changed between this script's download and its install).
const NAMES_BUILD = {
  'index.html': `<meta name="mnist-version" content="${VERSION}"`,
  'worker_loader.js': `const MNIST_VERSION = '${VERSION}';`,
  'reader_loader.js': `const MNIST_VERSION = '${VERSION}';`,
};

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const address = (file) => new URL(file, self.registration.scope);
    // A data file is kept only as this build has it (its SHA-256, written in by the stamp):
    // the same name has held other bytes in other builds (the packed and split MNIST files),
    // and an older copy may hold something else answered with 200 (a proxy's page).
    const asBuilt = async (file, response) => {
      const want = DATA_SHA256[file];
      if (!want || !response?.ok) return Boolean(response?.ok);
      const digest = await crypto.subtle.digest('SHA-256', await response.clone().arrayBuffer());
      return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('') === want;
    };
    // A file whose name says its content (MNIST's, checked as above; Trunk's hashed ones) is
    // taken from an older copy that has it rather than downloaded again (MNIST alone is 8.7
    // MB, on every deploy).
    const previous = (await caches.keys().catch(() => [])).filter(older);
    const fromPrevious = async (file) => {
      for (const name of previous) {
        const copy = await caches.open(name).then((c) => c.match(address(file))).catch(() => undefined);
        if (copy && await asBuilt(file, copy)) return copy;
      }
      return undefined;
    };
    // Revalidated, not taken from the HTTP cache as it stands: an entry still fresh there may
    // be the previous build's file under the same name. Asked for as the page asks for it
    // (a file that keeps its name, by this build's version: www/boot.js), so that what the
    // page downloaded is revalidated in the HTTP cache (a 304) rather than downloaded again;
    // kept under its plain address.
    const keep = async (file) => {
      const copy = immutable(address(file)) ? await fromPrevious(file) : undefined;
      if (copy) return cache.put(address(file), copy);
      const asked = address(file);
      if (!immutable(asked) && file !== 'index.html' && VERSION !== 'unstamped') asked.searchParams.set('version', VERSION);
      const response = await fetch(new Request(asked, { cache: 'no-cache' }));
      if (!(await asBuilt(file, response))) throw new Error(`${file}: HTTP ${response.status}, or not this build's`);
      return cache.put(address(file), response);
    };
    // The files that name their build last: a deploy while the others download (the wasm
    // takes a while) then shows in them, and the copy is refused rather than mixed.
    const last = FILES.filter((file) => file in NAMES_BUILD);
    const first = FILES.filter((file) => !(file in NAMES_BUILD));
    const results = [...await Promise.allSettled(first.map(keep)), ...await Promise.allSettled(last.map(keep))];
    const order = [...first, ...last];
    const missing = order.filter((file, i) => results[i].status === 'rejected' && !isData(address(file)));
    // A data file the server cannot give (a host without them) is left out.
    const named = async (file) => {
      if (VERSION === 'unstamped') return true;
      const kept = await cache.match(address(file));
      return Boolean(kept) && (await kept.text()).includes(NAMES_BUILD[file]);
    };
    const otherBuild = [];
    for (const file of last) if (!missing.includes(file) && !(await named(file))) otherBuild.push(file);
    if (missing.length || otherBuild.length) {
      await caches.delete(CACHE);
      throw new Error(missing.length
        ? `the offline copy was not kept: ${missing.join(', ')} could not be fetched`
        : `the offline copy was not kept: the server's ${otherBuild.join(', ')} are of another build`);
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

// The app's own page (whatever its query). Another path in this scope (a project of its own
// below this one) is not this copy's to answer: its navigations are left to the browser.
const ownPage = (url) => url.pathname === SCOPE || url.pathname === `${SCOPE}index.html`;

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && !ownPage(url)) return;
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
    // A network that gives no answer within NAVIGATION_MS is given up for the copy, whose
    // page then asks for this build's files, all answered from the copy too.
    const page = async () => {
      const copy = await cache?.match(new URL('index.html', self.registration.scope)).catch(() => undefined);
      return copy && new Response(copy.body, copy);
    };
    const abort = new AbortController();
    const network = fetch(request.url, { cache: 'no-cache', credentials: request.credentials, redirect: 'manual', signal: abort.signal });
    network.catch(() => {}); // given up below: its rejection is expected
    let timer;
    const late = new Promise((resolve) => { timer = setTimeout(resolve, NAVIGATION_MS, 'late'); });
    try {
      const first = await Promise.race([network, late]);
      if (first !== 'late') return first;
      const copy = await page();
      if (!copy) return await network; // no copy: wait as the browser would without one
      abort.abort();
      return copy;
    } catch (offline) {
      const copy = await page();
      if (copy) return copy;
      throw offline;
    } finally {
      clearTimeout(timer);
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
  const build = buildOf(url);
  if (immutable(url) || build === VERSION) return (await kept()) ?? fetch(request);
  // Another build's file: this copy is not of it.
  if (build) return fetch(request);
  try {
    return await fetch(request, { cache: 'no-cache' });
  } catch (offline) {
    const copy = await kept();
    if (copy) return copy;
    throw offline;
  }
}
