// A job page's live progress over Server-Sent Events (the page's CSP forbids inline script).
// <section data-sse-progress="URL">: each "progress" event (JSON) fills the elements marked
// data-progress="<field>" (a <progress> gets value and max) and [data-progress-text]; the
// "end" event reloads the page, which then shows how the job ended.
"use strict";

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
