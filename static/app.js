// Small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("htmx:afterSwap", (event) => {
  // After a swap, keep keyboard users where they were, or on the first error shown.
  const target = event.detail.target;
  const error = target.querySelector("[data-focus-first-error] .field-error, [role=alert]");
  if (error && error.id) {
    const field = target.querySelector(`[aria-describedby~="${error.id}"]`);
    (field || error).focus();
  }
});
document.addEventListener("htmx:afterSettle", (event) => {
  const message = event.detail.target.querySelector("[data-announce]");
  const announcer = document.getElementById("announcer");
  if (message && announcer) {
    announcer.textContent = message.dataset.announce;
  }
});
