/* PartnerLift's service worker: pages from the network when there is one, else the last copy
   this phone saw (so the last balance shows offline); styles and scripts from the cache. */
"use strict";
const CACHE = "partnerlift-v3";  // a new name when app.js or app.css change: phones fetch them again
const ASSETS = ["/static/app.css", "/static/app.js", "/static/icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }
  if (request.mode !== "navigate") return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok && !response.redirected) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() =>
        caches.match(request).then((hit) => hit || caches.match("/me")).then((hit) =>
          hit || new Response("<!doctype html><meta name=viewport content='width=device-width'><p>You are offline.</p>",
            { headers: { "Content-Type": "text/html; charset=utf-8" } })
        )
      )
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "signed-out") caches.delete(CACHE);
});
