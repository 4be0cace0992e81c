// @ts-check
/* global document, window, Image, MutationObserver */
/**
 * What the browser tests look at inside the shop page, injected before the page's own scripts
 * (page.addInitScript) and called as `shopProbes.name(...)`. Plain browser JavaScript, checked
 * with the DOM library by web/tsconfig.json; the Node test program has no DOM types.
 */
(() => {
  /** @type {Record<string, number[]>} upload percentages per photo name, in the order shown */
  const progress = {};

  function watchUploadProgress() {
    const jobs = document.getElementById('jobs');
    if (!jobs) throw new Error('no #jobs');
    new MutationObserver((records) => {
      for (const r of records) {
        const card = /** @type {HTMLElement} */ (r.target);
        const name = card.querySelector('.name')?.textContent ?? '?';
        (progress[name] ??= []).push(Number(card.dataset['uploadPercent']));
      }
    }).observe(jobs, { subtree: true, attributes: true, attributeFilter: ['data-upload-percent'] });
  }

  /** True once every card has reached an end (done, refused, rejected, failed, cancelled). */
  function allSettled(/** @type {number} */ count) {
    const cards = [...document.querySelectorAll('.job')];
    const busy = ['checking', 'uploading', 'queued', 'processing', 'preview'];
    return cards.length === count && cards.every((c) => !busy.includes(/** @type {HTMLElement} */ (c).dataset['state'] ?? ''));
  }

  function cards() {
    return [...document.querySelectorAll('.job')].map((node) => {
      const el = /** @type {HTMLElement} */ (node);
      return {
        name: el.querySelector('.name')?.textContent ?? '',
        state: el.dataset['state'],
        errorCode: el.dataset['errorCode'],
        upload: el.dataset['uploadPercent'],
        bar: /** @type {HTMLProgressElement} */ (el.querySelector('.bar')).value,
        stage: el.querySelector('.stage')?.textContent ?? '',
        message: el.querySelector('.message')?.textContent ?? '',
        next: el.querySelector('.next')?.textContent ?? '',
        problemShown: !(/** @type {HTMLElement} */ (el.querySelector('.problem')).hidden),
        previewNoteShown: !(/** @type {HTMLElement} */ (el.querySelector('.preview-note')).hidden),
        shownAlt: /** @type {HTMLImageElement} */ (el.querySelector('.after')).alt,
        downloads: [...el.querySelectorAll('.downloads a')].map((a) => /** @type {HTMLAnchorElement} */ (a).href),
      };
    });
  }

  /** @param {HTMLImageElement} img */
  function alphaCounts(img) {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2d context');
    ctx.drawImage(img, 0, 0);
    // Throws on a canvas tainted by a cross-origin image read without CORS.
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let transparent = 0;
    let opaque = 0;
    for (let i = 3; i < data.length; i += 4) {
      if ((data[i] ?? 255) < 255) transparent++;
      else opaque++;
    }
    return { width: img.naturalWidth, height: img.naturalHeight, transparent, opaque };
  }

  /** The cut-outs shown, read back through a canvas. */
  async function cutoutPixels() {
    const imgs = /** @type {HTMLImageElement[]} */ ([...document.querySelectorAll('.job img.after')]);
    return Promise.all(imgs.map(async (img) => (await img.decode(), alphaCounts(img))));
  }

  function bwImages() {
    return /** @type {HTMLImageElement[]} */ ([...document.querySelectorAll('.job img.bw')]).map((i) => ({ complete: i.complete, width: i.naturalWidth }));
  }

  /**
   * A signed result URL loaded first without CORS (an <img>, which the browser caches), then
   * read with CORS by fetch() and by a crossorigin <img> drawn on a canvas.
   * @param {string} url
   */
  async function corsRead(url) {
    const plain = new Image();
    plain.src = url;
    await plain.decode();
    const res = await fetch(url, { mode: 'cors' });
    const viaImg = new Image();
    viaImg.crossOrigin = 'anonymous';
    viaImg.src = url;
    await viaImg.decode();
    const pixels = alphaCounts(viaImg);
    return { status: res.status, type: res.type, vary: res.headers.get('vary'), width: pixels.width };
  }

  Object.assign(window, { shopProbes: { watchUploadProgress, allSettled, cards, cutoutPixels, bwImages, corsRead, progress } });
})();
