// The console's own behaviour, small and without inline handlers (the pages' CSP forbids
// inline script): copy-to-clipboard buttons, live logs over Server-Sent Events, fields shown
// for one choice, and the narrow navigation's current page.
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
  // A side panel opened from outside it takes the focus, so keyboard users land in it.
  document.addEventListener("htmx:afterSwap", function (e) {
    var panel = document.getElementById("side-panel");
    var from = e.detail.requestConfig && e.detail.requestConfig.elt;
    if (panel && e.detail.target === panel && from && !panel.contains(from)) {
      var title = document.getElementById("panel-title");
      if (title) title.focus();
    }
  });
  document.addEventListener("DOMContentLoaded", function () { follow(document); });
  document.addEventListener("htmx:load", function (e) { follow(e.target); });
})();

// A job page's live progress over Server-Sent Events (the page's CSP forbids inline script).
// <section data-sse-progress="URL">: each "progress" event (JSON) fills the elements marked
// data-progress="<field>" (a <progress> gets value and max) and [data-progress-text]; the
// "end" event reloads the page, which then shows how the job ended.

(function () {
  function follow(section) {
    section.setAttribute("data-following", "");
    var source = new EventSource(section.getAttribute("data-sse-progress"));
    source.addEventListener("progress", function (e) {
      var numbers = JSON.parse(e.data);
      section.querySelectorAll("[data-progress]").forEach(function (element) {
        var value = numbers[element.getAttribute("data-progress")];
        if (element.tagName === "PROGRESS") {
          element.max = Math.max(numbers.mini_batches_total, 1);
          element.value = value;
          element.textContent = numbers.percent_done + "%";
        } else {
          element.textContent = value;
        }
      });
      var text = section.querySelector("[data-progress-text]");
      if (text) text.textContent = numbers.text;
    });
    source.addEventListener("end", function () {
      source.close();
      window.location.reload();
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-sse-progress]:not([data-following])").forEach(follow);
  });
})();

(function () {
  // <fieldset data-shown-by="SELECT-ID" data-shown-for="VALUE">: shown only while the select
  // has that value (without JavaScript it always shows, and the server ignores it otherwise).
  function update(group) {
    var select = document.getElementById(group.getAttribute("data-shown-by"));
    if (select) group.hidden = select.value !== group.getAttribute("data-shown-for");
  }
  function updateAll() {
    document.querySelectorAll("[data-shown-by]").forEach(update);
  }
  document.addEventListener("change", function (event) {
    if (event.target.id) {
      document.querySelectorAll("[data-shown-by='" + event.target.id + "']").forEach(update);
    }
  });
  // On a narrow screen the navigation is one row that scrolls: bring the current page into it.
  function showCurrentSection() {
    var current = document.querySelector(".sidenav a[aria-current='page']");
    var list = current && current.closest("ul");
    if (list && list.scrollWidth > list.clientWidth) {
      list.scrollLeft = current.offsetLeft - list.offsetLeft - 8;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    updateAll();
    showCurrentSection();
  });
  window.addEventListener("resize", showCurrentSection);
})();
