// Postbus webmail, compose screen: autosave of the draft and address completion.
// Loaded from our own origin (CSP: script-src 'self'); the form works without it.
"use strict";
(function () {
  var form = document.getElementById("compose-form");
  if (!form) return;
  var AUTOSAVE_MS = 30000, COMPLETE_DELAY_MS = 200;
  var csrf = form.querySelector("input[name=csrf]").value;
  var status = document.getElementById("autosave-status");
  var dirty = false, saving = false, again = false, stopped = false, submitter = null;

  form.addEventListener("input", function () { dirty = true; });

  // Autosave: the form's text (never its files, which go with Send or Save draft).
  // One save at a time; a change made meanwhile is saved right after it.
  // data-autosave-state says "saving", "saved" or "error" (for people and tests).
  function autosave() {
    if (!dirty || stopped) return;
    if (saving) { again = true; return; }
    var data = new FormData(form);
    data.delete("attachment");
    data.delete("drop");
    data.set("op", "autosave");
    saving = true; dirty = false;
    form.setAttribute("data-autosave-state", "saving");
    var state = "error";
    fetch(form.getAttribute("data-autosave"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf }
    }).then(function (r) { return r.json(); }).then(function (answer) {
      if (answer.draft !== undefined) {
        form.querySelector("input[name=draft]").value = answer.draft;
        status.textContent = status.getAttribute("data-saved-text");
        state = "saved";
      } else if (answer.error) {
        status.textContent = answer.error;
      }
    }).catch(function () { dirty = true; }).then(function () {
      saving = false;
      if (again && !submitter) { again = false; autosave(); return; }
      form.setAttribute("data-autosave-state", state);
      if (submitter) { stopped = true; form.requestSubmit(submitter); }
    });
  }

  // A button pressed while a save is in flight waits for it, so that the form
  // names the saved draft (which Send then removes) and no stray draft is left.
  form.addEventListener("submit", function (event) {
    if (stopped) return;
    if (saving) {
      event.preventDefault();
      submitter = event.submitter || null;
      if (!submitter) { stopped = true; }
      return;
    }
    stopped = true;
  });
  window.setInterval(autosave, AUTOSAVE_MS);
  // ...and whenever a changed field is left (a change event), so little is ever lost.
  form.addEventListener("change", function (event) {
    if (event.target.type !== "file") autosave();
  });

  // Completion: suggestions for the address being typed (after the last comma).
  var timer = null;
  form.querySelectorAll("[data-complete-field]").forEach(function (input) {
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { suggest(input); }, COMPLETE_DELAY_MS);
    });
  });

  function suggest(input) {
    var value = input.value, cut = value.lastIndexOf(",");
    var head = cut >= 0 ? value.slice(0, cut + 1) + " " : "";
    var query = value.slice(cut + 1).trim();
    var list = document.getElementById(input.getAttribute("list"));
    if (query.length < 2) { list.textContent = ""; return; }
    var url = form.getAttribute("data-complete") + "?q=" + encodeURIComponent(query);
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (found) {
      list.textContent = "";
      found.forEach(function (s) {
        var option = document.createElement("option");
        option.value = head + s.display;
        list.appendChild(option);
      });
    }).catch(function () { /* no suggestions */ });
  }

  // Size: say at once when the chosen files are over the limit (the server checks too).
  var files = document.getElementById("attachment");
  var warning = document.getElementById("size-warning");
  var limit = parseInt(form.getAttribute("data-max-size"), 10);
  if (files && warning) {
    files.addEventListener("change", function () {
      var total = 0;
      for (var i = 0; i < files.files.length; i++) total += files.files[i].size;
      warning.hidden = total <= limit;
    });
  }
})();
