/* PartnerLift on a phone: works without this file; with it, photos are made small before
   upload, the last pages stay readable offline, and a claim typed offline is sent later. */
"use strict";
(function () {
  const QUEUE = "partnerlift.claims";
  const MAX_SIDE = 1600;

  function notice(text, kind) {
    let box = document.querySelector(".offline-notice");
    if (!text) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("p");
      box.setAttribute("role", "status");
      document.querySelector("main").prepend(box);
    }
    box.className = "flash offline-notice flash-" + (kind || "warning");
    box.textContent = text;
  }

  const texts = document.body.dataset;

  function showConnection() {
    if (navigator.onLine) notice(null); else notice(texts.offlineText);
    if (!navigator.onLine) followPhoneDay();
  }

  // ---- a claim form kept from an earlier day, shown offline: today is the phone's today
  // (online, the server gave the day where the person is, and it decides)
  function followPhoneDay() {
    const now = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    const today = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
    for (const input of document.querySelectorAll("form[data-offline] input[type=date][max]")) {
      if (today <= input.max) continue;
      if (input.value === input.max) input.value = today;  // still the day the form offered
      input.max = today;
    }
  }

  // ---- photos: downscaled on the phone before upload (a camera photo is often 4-8 MB)
  async function downscale(input) {
    const file = input.files && input.files[0];
    if (!file || !/^image\/(jpeg|png|webp)$/.test(file.type) || !window.createImageBitmap) return;
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && file.size < 600000) return;
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((done) => canvas.toBlob(done, "image/jpeg", 0.82));
    if (!blob || blob.size >= file.size) return;
    const small = new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" });
    const transfer = new DataTransfer();
    transfer.items.add(small);
    input.files = transfer.files;
  }

  // ---- claims typed offline: kept on the phone, sent when the connection returns
  function queued() {
    try { return JSON.parse(localStorage.getItem(QUEUE) || "[]"); } catch (e) { return []; }
  }
  function keep(items) { localStorage.setItem(QUEUE, JSON.stringify(items)); }

  function readFile(file) {
    return new Promise((done) => {
      if (!file) { done(null); return; }
      const reader = new FileReader();
      reader.onload = () => done({ name: file.name, type: file.type, data: reader.result });
      reader.readAsDataURL(file);
    });
  }

  async function save(form) {
    const fields = [];
    let photo = null;
    for (const [name, value] of new FormData(form).entries()) {
      if (value instanceof File) { if (value.size) photo = await readFile(value); }
      else if (name !== "csrf_token") fields.push([name, value]);
    }
    const items = queued();
    items.push({ url: form.action || location.href, fields: fields, photo: photo, at: Date.now() });
    keep(items);
  }

  function fromDataUrl(url) {
    // Decoded here, not fetched: the Content-Security-Policy lets pages fetch only our own URLs.
    const bytes = atob(url.slice(url.indexOf(",") + 1));
    const array = new Uint8Array(bytes.length);
    for (let i = 0; i < bytes.length; i += 1) array[i] = bytes.charCodeAt(i);
    return new Blob([array]);
  }

  async function send(item) {
    // A fresh form first: its CSRF token belongs to this session and has not expired.
    const page = await fetch(item.url, { credentials: "same-origin" });
    if (!page.ok) return "later";
    const html = new DOMParser().parseFromString(await page.text(), "text/html");
    const token = html.querySelector("input[name=csrf_token]");
    if (!token) return "later";  // signed out: wait until the person signs in again
    const body = new FormData();
    body.append("csrf_token", token.value);
    for (const [name, value] of item.fields) body.append(name, value);
    if (item.photo) {
      body.append("photo", new File([fromDataUrl(item.photo.data)], item.photo.name, { type: item.photo.type }));
    }
    const response = await fetch(item.url, { method: "POST", body: body, credentials: "same-origin" });
    if (response.ok && response.redirected) return "sent";
    if (response.status === 400) return "refused";
    return "later";
  }

  let flushing = false;
  async function flush() {
    if (flushing || !navigator.onLine) return;
    flushing = true;
    try {
      let left = [];
      let sent = 0;
      let refused = 0;
      for (const item of queued()) {
        let outcome = "later";
        try { outcome = await send(item); } catch (e) { outcome = "later"; }
        if (outcome === "sent") sent += 1;
        else if (outcome === "refused") refused += 1;
        else left.push(item);
      }
      keep(left);
      if (refused) notice(texts.refusedText, "warning");
      else if (sent) notice(texts.sentText, "success");
    } finally {
      flushing = false;
    }
  }

  document.addEventListener("change", (event) => {
    const input = event.target;
    if (input.matches && input.matches("input[type=file][data-downscale]")) {
      downscale(input).catch(() => {});
    }
    // A country chosen for a phone number: the number field shows that country's example.
    if (input.matches && input.matches("select[name=country]") && input.form && input.form.phone) {
      const option = input.selectedOptions[0];
      const hint = document.getElementById(input.form.phone.id + "-hint");
      input.form.phone.placeholder = (option && option.dataset.example) || "";
      if (hint && option && option.dataset.hint) hint.textContent = option.dataset.hint;
    }
  });

  // ---- the serial from the camera: where the browser reads barcodes, "Scan" fills the field
  let scanning = null;

  function stopScanning() {
    if (!scanning) return;
    scanning.stream.getTracks().forEach((track) => track.stop());
    scanning.panel.hidden = true;
    scanning.video.srcObject = null;
    scanning = null;
  }

  async function scan(button) {
    stopScanning();
    const input = document.getElementById(button.dataset.scanFor);
    const panel = button.closest(".field").querySelector(".scanner");
    const video = panel.querySelector("video");
    const detector = new window.BarcodeDetector();
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) { return; }  // no camera, or the person said no: typing stays
    const session = { stream: stream, panel: panel, video: video };
    scanning = session;
    panel.hidden = false;
    video.srcObject = stream;
    await video.play().catch(() => {});
    while (scanning === session) {
      let codes = [];
      try { codes = await detector.detect(video); } catch (e) { codes = []; }  // no frame yet
      const code = codes.find((found) => found.rawValue);
      if (code && scanning === session) {
        input.value = code.rawValue.trim();
        input.dispatchEvent(new Event("change", { bubbles: true }));
        stopScanning();
        input.focus();
        return;
      }
      await new Promise((done) => setTimeout(done, 200));
    }
  }

  if ("BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    for (const button of document.querySelectorAll("button[data-scan-for]")) button.hidden = false;
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button[data-scan-for], button[data-scan-stop]");
    if (!button) return;
    if (button.matches("[data-scan-stop]")) stopScanning();
    else scan(button).catch(stopScanning);
  });
  window.addEventListener("pagehide", stopScanning);

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.matches("form[data-offline]") && !navigator.onLine) {
      event.preventDefault();
      save(form).then(() => { form.reset(); notice(texts.queuedText, "warning"); });
    }
    if (form.matches("form[data-sign-out]") && navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage("signed-out");
    }
  });

  // ---- the scheme editor: another kind of rule swaps only the rule's inputs, in place, so
  // nothing typed elsewhere is touched (without this, the same button sends the form and the
  // server shows it again as typed)
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("form[data-rule-kinds] button[name=choose_kind]");
    if (!button) return;
    event.preventDefault();
    const form = button.form;
    const body = new FormData(form);
    body.append("choose_kind", button.value);
    fetch(form.action || location.href, { method: "POST", body: body, credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((text) => {
        const fresh = new DOMParser().parseFromString(text, "text/html").getElementById("rule-fields");
        const here = document.getElementById("rule-fields");
        if (!fresh || !here) { form.requestSubmit(button); return; }
        here.replaceWith(document.adoptNode(fresh));
        const first = fresh.querySelector("input:not([type=hidden]), select, button");
        if (first) first.focus();
      })
      .catch(() => form.requestSubmit(button));
  });

  // ---- the scheme editor: its rules in words and its estimate per role follow the typing
  let previewing = null;
  let latestPreview = 0;
  document.addEventListener("input", (event) => {
    const form = event.target.form;
    if (!form || !form.matches("form[data-rule-kinds]")) return;
    clearTimeout(previewing);
    previewing = setTimeout(() => {
      const asked = ++latestPreview;
      const body = new FormData(form);
      body.append("preview", "1");
      fetch(form.action || location.href, { method: "POST", body: body, credentials: "same-origin" })
        .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
        .then((text) => {
          if (asked !== latestPreview) return;  // an answer overtaken by later typing
          const fresh = new DOMParser().parseFromString(text, "text/html").getElementById("rule-preview");
          const here = document.getElementById("rule-preview");
          if (fresh && here) here.replaceWith(document.adoptNode(fresh));
        })
        .catch(() => {});
    }, 600);
  });

  window.addEventListener("online", () => { showConnection(); flush(); });
  window.addEventListener("offline", showConnection);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  showConnection();
  flush();
})();
