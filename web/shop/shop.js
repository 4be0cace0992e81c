// @ts-check
/* global document, window, HTMLElement */
/**
 * The demo shop page: pick, drop or paste pet photos; each one is checked, uploaded with a
 * progress bar, followed through the queue and processing, and shown as a cut-out over a
 * checkerboard (before/after), in black and white, with download links. Problems are said in
 * plain words with what to do next. The API's URLs come from /config.json.
 */
import { CutoutError, createCutoutClient } from '../client/cutout.js';

/**
 * @typedef {import('../client/cutout.js').CutoutClient} CutoutClient
 * @typedef {import('../client/cutout.js').JobStatus} JobStatus
 * @typedef {import('../client/cutout.js').UploadLimits} UploadLimits
 */

/** How far the bar goes per stage: the upload fills the first 60%. */
const BAR = { uploaded: 60, queued: 70, processing: 80, preview: 90, done: 100 };

/** What the shopper can do next, per error code (prefix before ':' for job errors). */
const NEXT = /** @type {Record<string, string>} */ ({
  too_large: 'Photos straight from a phone are fine; edited or scanned files may need saving at a smaller size.',
  unsupported_type: 'Choose a JPEG, PNG or WebP photo.',
  rejected: 'Choose another photo of your pet, or take the photo again.',
  failed: 'Try again in a moment. If it keeps failing, choose another photo.',
  rate_limited: 'Wait a minute, then add the photo again.',
  network: 'Check your connection, then add the photo again.',
  timeout: 'Add the photo again; if it keeps happening, try later.',
  cors: 'This is a problem with the shop, not with your photo.',
  aborted: 'Add the photo again whenever you like.',
});

const QUALITY_FLAGS = /** @type {Record<string, string>} */ ({
  uncertain_alpha: 'parts of the outline are uncertain',
  subject_cut_by_frame: 'your pet touches the edge of the photo',
  several_subjects: 'there seem to be several subjects',
  small_subject: 'your pet is small in the picture',
});

/** @param {string} id */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

/**
 * @param {ParentNode} root
 * @param {string} selector
 * @returns {HTMLElement}
 */
function $(root, selector) {
  const el = root.querySelector(selector);
  if (!(el instanceof HTMLElement)) throw new Error(`missing ${selector}`);
  return el;
}

/** @param {string} text */
function announce(text) {
  byId('announce').textContent = text;
}

async function loadConfig() {
  const res = await fetch('/config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json answered ${res.status}`);
  return /** @type {{ createUploadUrl: string, getStatusUrl: string }} */ (await res.json());
}

/**
 * One photo's card and its whole life: check, upload, follow, show.
 * @param {CutoutClient} client
 * @param {File} file
 */
async function processPhoto(client, file) {
  const template = /** @type {HTMLTemplateElement} */ (byId('job-template'));
  const card = /** @type {HTMLElement} */ (/** @type {HTMLElement} */ (template.content.firstElementChild).cloneNode(true));
  const bar = /** @type {HTMLProgressElement} */ ($(card, '.bar'));
  const stage = $(card, '.stage');
  const cancel = /** @type {HTMLElement} */ ($(card, '.cancel'));
  const name = file.name || 'Pasted photo';
  $(card, '.name').textContent = name;
  bar.setAttribute('aria-label', `Progress for ${name}`);
  byId('jobs').prepend(card);

  /** @param {string} state @param {string} text @param {number} [value] */
  const setStage = (state, text, value) => {
    card.dataset['state'] = state;
    stage.textContent = text;
    if (value !== undefined) bar.value = value;
  };
  const controller = new AbortController();
  cancel.addEventListener('click', () => controller.abort());
  /** @type {string[]} */
  const objectUrls = [];
  /** @param {Blob} blob */
  const objectUrl = (blob) => {
    const url = URL.createObjectURL(/** @type {Blob} */ (blob));
    objectUrls.push(url);
    return url;
  };

  try {
    setStage('uploading', 'Uploading… 0%', 0);
    const job = await client.upload(file, {
      signal: controller.signal,
      onProgress: ({ fraction }) => {
        const percent = Math.round(fraction * 100);
        card.dataset['uploadPercent'] = String(percent);
        setStage('uploading', `Uploading… ${percent}%`, Math.round(fraction * BAR.uploaded));
      },
    });
    card.dataset['jobId'] = job.jobId;
    setStage('queued', 'Uploaded. Waiting for its turn…', BAR.queued);
    announce(`${name} uploaded; waiting for its turn.`);

    const before = /** @type {HTMLImageElement} */ ($(card, '.before'));
    before.src = objectUrl(file);
    before.alt = `${name}, original`;
    const after = /** @type {HTMLImageElement} */ ($(card, '.after'));
    // Set once the job has ended: a preview whose download finishes later must not replace
    // the full-size cut-out (or bring back the "preview" note and bar).
    let ended = false;
    const result = await job.result({
      signal: controller.signal,
      onStatus: (status) => {
        if (status.state === 'processing' && card.dataset['state'] !== 'preview') setStage('processing', 'Cutting out your pet…', BAR.processing);
      },
      onPreview: ({ url }) => {
        // Shown the moment it exists, while the full-size files are still being made.
        void client.fetchOutput(url, { signal: controller.signal }).then(
          (blob) => {
            if (ended) return;
            after.src = objectUrl(/** @type {Blob} */ (blob));
            after.alt = `${name}, cut out (preview)`;
            $(card, '.views').hidden = false;
            $(card, '.preview-note').hidden = false;
            setStage('preview', 'Almost there: finishing the full-size cut-out…', BAR.preview);
          },
          (err) => console.warn('preview not shown', err),
        );
      },
    });

    ended = true;
    const main = result.downloads.cutout ?? result.downloads.preview;
    if (main) {
      after.src = objectUrl(/** @type {Blob} */ (await client.fetchOutput(main, { signal: controller.signal })));
      after.alt = `${name}, cut out`;
      $(card, '.preview-note').hidden = true;
      $(card, '.views').hidden = false;
    }
    if (result.downloads.bw) {
      const bw = /** @type {HTMLImageElement} */ ($(card, '.bw'));
      bw.src = objectUrl(/** @type {Blob} */ (await client.fetchOutput(result.downloads.bw, { signal: controller.signal })));
      bw.alt = `${name}, cut out in black and white`;
      $(card, '.bw-figure').hidden = false;
    }
    showDownloads(card, name, result.downloads, objectUrl);
    if (result.quality?.flags.length) {
      const quality = $(card, '.quality');
      const reasons = result.quality.flags.map((f) => QUALITY_FLAGS[f] ?? f.replace(/_/g, ' '));
      quality.textContent = `Please check this cut-out: ${reasons.join(', ')}. A photo where your pet stands clear of leaves and the edges of the picture works best.`;
      quality.hidden = false;
    }
    card.dataset['quality'] = result.quality ? String(result.quality.score) : '';
    cancel.hidden = true;
    setStage('succeeded', 'Done', BAR.done);
    announce(`${name} is ready.`);
  } catch (err) {
    cancel.hidden = true;
    showProblem(card, err, name);
  }
}

/**
 * @param {HTMLElement} card
 * @param {string} name
 * @param {Partial<Record<string, string>>} downloads
 * @param {(blob: Blob) => string} objectUrl
 */
function showDownloads(card, name, downloads, objectUrl) {
  const list = $(card, '.downloads');
  const base = name.replace(/\.[^.]+$/, '') || 'photo';
  const labels = /** @type {Record<string, [string, string]>} */ ({ cutout: ['Cut-out (PNG)', 'cutout.png'], bw: ['Black and white (PNG)', 'bw.png'], mask: ['Mask (PNG)', 'mask.png'] });
  for (const [kind, [label, suffix]] of Object.entries(labels)) {
    const url = downloads[kind];
    if (!url) continue;
    const a = document.createElement('a');
    a.textContent = label;
    a.download = `${base}-${suffix}`;
    // The signed URL is cross-origin (the download attribute would be ignored), so the file is
    // fetched on click and offered from a blob URL.
    a.href = url;
    a.addEventListener('click', (event) => {
      if (a.href.startsWith('blob:')) return;
      event.preventDefault();
      void clientRef.client?.fetchOutput(url).then((blob) => {
        a.href = objectUrl(/** @type {Blob} */ (blob));
        a.click();
      });
    });
    const li = document.createElement('li');
    li.append(a);
    list.append(li);
  }
  list.hidden = list.childElementCount === 0;
}

/**
 * @param {HTMLElement} card
 * @param {unknown} err
 * @param {string} name
 */
function showProblem(card, err, name) {
  const e = err instanceof CutoutError ? err : new CutoutError('unexpected', 'Something unexpected went wrong. Please try again.', { detail: String(err) });
  const kind = e.code.split(':')[0] ?? e.code;
  card.dataset['state'] = e.code === 'aborted' ? 'cancelled' : kind === 'rejected' || kind === 'failed' ? kind : 'refused';
  card.dataset['errorCode'] = e.code;
  $(card, '.stage').textContent = e.code === 'aborted' ? 'Cancelled' : 'Not done';
  $(card, '.message').textContent = e.message;
  $(card, '.next').textContent = NEXT[e.code] ?? NEXT[kind] ?? '';
  $(card, '.problem').hidden = false;
  announce(`${name}: ${e.message}`);
  // Operators (and the shop's developers) get the technical side in the console.
  if (e.code !== 'aborted') console.info(`cutout ${e.code}: ${e.detail ?? ''}`);
}

/** The client, once the config is known (download links use it later). */
const clientRef = /** @type {{ client: CutoutClient | undefined }} */ ({ client: undefined });

/** @param {Iterable<File>} files */
function addFiles(files) {
  const client = clientRef.client;
  if (!client) return;
  for (const file of files) void processPhoto(client, file);
}

async function main() {
  const drop = byId('drop');
  const input = /** @type {HTMLInputElement} */ (byId('photos'));
  input.addEventListener('change', () => {
    addFiles(input.files ? [...input.files] : []);
    input.value = '';
  });
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    addFiles(event.dataTransfer ? [...event.dataTransfer.files] : []);
  });
  window.addEventListener('paste', (event) => {
    const files = event.clipboardData ? [...event.clipboardData.files] : [];
    if (files.length) addFiles(files);
  });
  document.addEventListener('input', (event) => {
    const slider = /** @type {HTMLInputElement} */ (event.target);
    if (!slider.classList?.contains('slider')) return;
    const clip = slider.closest('.compare')?.querySelector('.before-clip');
    if (clip instanceof HTMLElement) clip.style.width = `${slider.value}%`;
  });

  try {
    const config = await loadConfig();
    clientRef.client = createCutoutClient(config);
    drop.dataset['ready'] = 'true';
    // The limit in the hint comes from the server, like the check itself.
    clientRef.client.limits().then(
      (limits) => {
        byId('limit-text').textContent = `, up to ${Math.round(limits.maxUploadBytes / (1024 * 1024))} MB each`;
      },
      () => undefined,
    );
  } catch (err) {
    const box = byId('config-error');
    box.textContent = 'The photo service is not set up on this page yet. Please try again later.';
    box.hidden = false;
    console.info('config', err);
  }
}

void main();
