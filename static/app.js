// Small progressive enhancements; every page works without this file.
"use strict";

// With htmx running, choices save on change: hide the Save buttons and the follow-up
// questions of options not picked (the server shows them again once the option is picked).
if (window.htmx) {
  document.documentElement.classList.add("js");
}

// A session card saves as soon as its box or format changes (without JavaScript, its Save
// button does it): one listener here instead of an hx-trigger on each of hundreds of forms.
document.addEventListener("change", (event) => {
  const form = event.target.closest && event.target.closest("form.pick");
  if (form && window.htmx) {
    form.requestSubmit();
  }
});

// Focus on a control without an id (card controls have none, to stay small) is put back on
// its twin in the swapped-in content: same named control, same value, inside the same id.
let focused = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  const active = document.activeElement;
  focused = null;
  if (active && !active.id && active.name && event.detail.target.contains(active)) {
    const holder = active.parentElement && active.parentElement.closest("[id]");
    if (holder) {
      focused = { holder: holder.id, name: active.name, value: active.value, tag: active.tagName };
    }
  }
});
document.addEventListener("htmx:afterSwap", () => {
  if (!focused) {
    return;
  }
  const holder = document.getElementById(focused.holder);
  const twin = holder && holder.querySelector(
    `${focused.tag}[name="${CSS.escape(focused.name)}"][value="${CSS.escape(focused.value)}"]`
  );
  focused = null;
  if (twin) {
    twin.focus();
  }
});

// Keep what the attendee typed into the focused field while a save was on its way: the
// swap brings back what the server had when the request left.
let typing = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  const active = document.activeElement;
  typing = null;
  if (
    active && active.id && event.detail.target.contains(active) &&
    (active.tagName === "TEXTAREA" || (active.tagName === "INPUT" && !["checkbox", "radio", "hidden", "submit"].includes(active.type)))
  ) {
    typing = { id: active.id, value: active.value };
  }
});

document.addEventListener("htmx:afterSwap", (event) => {
  if (typing) {
    const field = document.getElementById(typing.id);
    if (field && field.value !== typing.value) {
      field.value = typing.value;
      // The restored text is not saved yet: save it when the attendee leaves the field.
      field.addEventListener("blur", () => {
        field.dispatchEvent(new Event("change", { bubbles: true }));
      }, { once: true });
    }
    typing = null;
  }
  // If the swap took the focus away (it sat on a replaced element without an id), put it on
  // the first error shown, or else on the swapped region, so keyboard users are not lost.
  const active = document.activeElement;
  if (active && active !== document.body && document.contains(active)) {
    return;
  }
  const target = event.detail.target;
  if (!document.contains(target)) {
    return;
  }
  const error = target.querySelector(".field-error[id], [role=alert][id]");
  const field = error && target.querySelector(`[aria-describedby~="${CSS.escape(error.id)}"]`);
  const fallback = target.matches("[tabindex]") ? target : target.querySelector("h2, h3");
  const next = field || error || fallback;
  if (next) {
    if (!next.matches("a, button, input, select, textarea, [tabindex]")) {
      next.setAttribute("tabindex", "-1");
    }
    next.focus();
  }
});

// Announce what a save did through the page's polite live region.
function announce(root) {
  const announcer = document.getElementById("announcer");
  if (!announcer || !root || !root.querySelector) {
    return;
  }
  const message = root.matches("[data-announce]") ? root : root.querySelector("[data-announce]");
  if (message) {
    announcer.textContent = "";
    // A fresh text node after clearing makes screen readers speak a repeated message again.
    window.setTimeout(() => { announcer.textContent = message.dataset.announce; }, 50);
  }
}
document.addEventListener("htmx:afterSettle", (event) => announce(event.target));
