// Warroom console: progressive enhancement only. Every page works without this file;
// it adds copy buttons, confirmations, busy states and the live incident timeline.
// Served from /console/static/ under a CSP without inline script: no eval, no innerHTML.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="ID" hidden> copies the value or text of #ID.
  function setupCopy() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (!navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source) return;
        var value = "value" in source ? source.value : source.textContent;
        navigator.clipboard.writeText(value).then(function () {
          var label = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 1500);
        });
      });
    });
  }

  // <form data-confirm="Question?">: asks before posting.
  // <form data-busy="Working…">: disables its button while the request runs.
  function setupForms() {
    document.querySelectorAll("form[data-confirm], form[data-busy]").forEach(function (form) {
      // Called again after a live swap: bind each form once.
      if (form.hasAttribute("data-bound")) return;
      form.setAttribute("data-bound", "");
      form.addEventListener("submit", function (event) {
        var question = form.getAttribute("data-confirm");
        if (question && !window.confirm(question)) {
          event.preventDefault();
          return;
        }
        var busy = form.getAttribute("data-busy");
        var button = form.querySelector("button[type=submit]");
        if (busy && button) {
          button.disabled = true;
          button.textContent = busy;
        }
      });
    });
  }

  // <section id="X" data-live="URL">: replaced every few seconds by the same section
  // from URL (server-rendered and escaped), while the page is visible.
  function setupLive() {
    document.querySelectorAll("[data-live]").forEach(function (section) {
      var url = section.getAttribute("data-live");
      var failures = 0;
      function refresh() {
        if (document.hidden) return;
        // Not while someone is using it: a swap would close an open menu or drop the focus.
        if (section.contains(document.activeElement) || section.querySelector("details[open]")) return;
        fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" }, redirect: "manual" })
          .then(function (response) {
            if (!response.ok) throw new Error("status " + response.status);
            return response.text();
          })
          .then(function (text) {
            failures = 0;
            var doc = new DOMParser().parseFromString(text, "text/html");
            var fresh = doc.getElementById(section.id);
            if (!fresh) return;
            section.replaceChildren.apply(section, Array.prototype.map.call(fresh.childNodes, function (n) {
              return document.importNode(n, true);
            }));
            setupCopy();
            setupForms();
          })
          .catch(function () {
            failures += 1;
            if (failures >= 3) clearInterval(timer);
          });
      }
      var timer = setInterval(refresh, 4000);
      document.addEventListener("visibilitychange", refresh);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupCopy();
    setupForms();
    setupLive();
  });
})();
