// The console's own behaviour, small and without inline handlers (the pages' CSP forbids
// inline script): copy-to-clipboard buttons and live logs over Server-Sent Events.
"use strict";

(function () {
  // <button data-copy-from="ID">: copies the text (or value) of element ID.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-from]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-from"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else if (source.select) {
      source.select();
      document.execCommand("copy");
      done();
    }
  });

  // <pre data-sse-log="URL">: appends each "line" event; an "end" event closes the stream
  // and fills [data-sse-status] with its data. Re-run after htmx swaps in new content.
  function follow(root) {
    root.querySelectorAll("[data-sse-log]:not([data-following])").forEach(function (log) {
      log.setAttribute("data-following", "");
      var source = new EventSource(log.getAttribute("data-sse-log"));
      var status = document.querySelector("[data-sse-status]");
      source.addEventListener("line", function (e) {
        var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
        log.appendChild(document.createTextNode(e.data + "\n"));
        if (atBottom) log.scrollTop = log.scrollHeight;
      });
      source.addEventListener("end", function (e) {
        source.close();
        if (status) status.textContent = e.data;
      });
      source.onerror = function () {
        if (source.readyState === EventSource.CLOSED && status) {
          status.textContent = "The log stream stopped; reload the page to see the rest.";
        }
      };
    });
  }
  document.addEventListener("DOMContentLoaded", function () { follow(document); });
  document.addEventListener("htmx:load", function (e) { follow(e.target); });
})();
