// Helpers the test pages share (the plain test page, the Workbox app's shell, the SDK client).

/** Loads an <img>; resolves with what a user would see: decoded, with its size, or broken. */
export function loadImage(src) {
  return new Promise((resolve) => {
    const img = document.createElement('img');
    img.onload = () => resolve({ ok: true, width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => resolve({ ok: false, width: 0, height: 0 });
    img.src = src;
    document.body.append(img);
  });
}
