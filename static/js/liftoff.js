// Liftoff's only script besides htmx. No inline handlers anywhere (strict CSP).
(function () {
  "use strict";

  function dismiss(toast) {
    if (toast && toast.parentNode) toast.parentNode.removeChild(toast);
  }

  function showToast(text, level) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-" + (level || "info");
    var span = document.createElement("span");
    span.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("data-dismiss-toast", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    toast.appendChild(span);
    toast.appendChild(close);
    box.appendChild(toast);
    autoDismiss(toast);
  }

  function autoDismiss(toast) {
    // Errors stay until dismissed; the rest fade after a while.
    if (!toast.classList.contains("toast-error")) {
      setTimeout(function () { dismiss(toast); }, 8000);
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss-toast]");
    if (button) dismiss(button.closest(".toast"));
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var open = document.querySelector("details.account-menu[open]");
      if (open) { open.removeAttribute("open"); open.querySelector("summary").focus(); }
      var toggle = document.querySelector(".nav-toggle[aria-expanded='true']");
      if (toggle) { setNavOpen(toggle, false); toggle.focus(); }
    }
  });

  // The phone's navigation: the Menu button opens and closes it (its href is the
  // fallback without JavaScript).
  function setNavOpen(toggle, open) {
    var nav = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!nav) return;
    nav.classList.toggle("nav-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".nav-toggle");
    if (!toggle) return;
    event.preventDefault();
    setNavOpen(toggle, toggle.getAttribute("aria-expanded") !== "true");
  });

  // Copy buttons (`data-copy="#field-id"`): the Clipboard API where the browser allows it;
  // otherwise, and if it fails, the text is selected for the person to copy. The buttons
  // stay hidden without JavaScript: the field is selectable text.
  function copyStatus(button, text) {
    var status = document.getElementById(button.getAttribute("aria-describedby") || "");
    if (status) status.textContent = text;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    function selectIt() {
      field.focus();
      field.select();
      copyStatus(button, "Selected: press Ctrl+C (⌘C on a Mac) to copy it.");
    }
    if (!navigator.clipboard || !window.isSecureContext) { selectIt(); return; }
    navigator.clipboard.writeText(field.value).then(function () {
      copyStatus(button, "Copied to the clipboard.");
    }, selectIt);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(autoDismiss);
    document.querySelectorAll("[data-copy]").forEach(function (button) { button.hidden = false; });
  });

  // Server-sent toasts: a response may carry HX-Trigger: {"liftoff:toast": {...}}.
  document.addEventListener("liftoff:toast", function (event) {
    showToast(event.detail.message, event.detail.level);
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text = status === 403 ? "Your role does not allow this." :
      status >= 500 ? "Something went wrong on the server. Nothing was changed; try again." :
      "The request was refused (" + status + ").";
    showToast(text, "error");
  });
  // Quick ticks send several requests; their answers may arrive in any order. A
  // checklist's body carries the version of the state it shows (data-version): an answer
  // older than what the page shows already is not swapped in.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var shown = target && target.querySelector && target.querySelector(":scope > [data-version]");
    if (!shown) return;
    var found = /data-version="(\d+)"/.exec(event.detail.serverResponse || "");
    if (found && Number(found[1]) < Number(shown.getAttribute("data-version"))) {
      event.detail.shouldSwap = false;
    }
  });
  // A link to a folded section, or to something in one (a checklist phase, a blocker's
  // item), unfolds it: a <details> stays closed when its target is the details itself.
  function revealTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    for (var el = id && document.getElementById(id); el; el = el.parentElement) {
      if (el.tagName === "DETAILS") el.open = true;
    }
  }
  window.addEventListener("hashchange", revealTarget);
  document.addEventListener("DOMContentLoaded", revealTarget);
  document.addEventListener("htmx:sendError", function () {
    showToast("The server could not be reached. Check your connection and try again.", "error");
  });
  // A fieldset marked data-shown-for="field=value" shows (and sends) its fields only
  // while the form's radio `field` has that value (the gate form's kinds; one of several
  // values, "field=a|b", for an environment's strategies). The server
  // renders the right one first; this only follows a change.
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (!form || event.target.type !== "radio") return;
    form.querySelectorAll("fieldset[data-shown-for]").forEach(function (fieldset) {
      var rule = fieldset.getAttribute("data-shown-for").split("=");
      if (rule[0] !== event.target.name) return;
      // "strategy=command|blue_green": shown for any of the values.
      var shown = rule[1].split("|").indexOf(event.target.value) !== -1;
      fieldset.hidden = !shown;
      fieldset.disabled = !shown;
    });
  });
})();
