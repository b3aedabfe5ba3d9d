// The same signal Partner Desk's first screen gives, two frames after the page is in place.
requestAnimationFrame(() => requestAnimationFrame(() => window.__TAURI_INTERNALS__.invoke('app_ready')));
