// Postbus webmail: small progressive enhancements. Every page works without this
// file; it is loaded from our own origin (CSP: script-src 'self', no inline script).
"use strict";
(function () {
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  // Confirm irreversible buttons (data-confirm holds the translated question).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // The language menu submits itself when changed.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("[data-autosubmit]")) el.form.submit();
    if (el.matches("[data-select-all]")) {
      document.querySelectorAll("#list-form input[name=uid]").forEach(function (box) {
        box.checked = el.checked; markRow(box);
      });
    } else if (el.matches("#list-form input[name=uid]")) markRow(el);
  });

  function markRow(box) {
    var row = box.closest("tr");
    if (row) row.classList.toggle("selected", box.checked);
  }

  // The HTML part's frame grows to its content (same origin, no script inside it).
  // The remote-content note stays only when a frame says it blocked something.
  function fitFrame(frame) {
    try {
      var doc = frame.contentDocument;
      if (!doc || !doc.body) return;
      frame.style.height = (Math.max(doc.body.scrollHeight, doc.body.offsetHeight) + 24) + "px";
      var blocked = doc.querySelector("meta[name=postbus-remote-blocked]");
      if (blocked && Number(blocked.getAttribute("content")) > 0) frame.setAttribute("data-blocked", "1");
      var note = document.querySelector("[data-remote-note]");
      if (note) note.hidden = !document.querySelector("iframe.html-body[data-blocked]");
    } catch (e) { /* not readable: keep the CSS height and the note */ }
  }

  // Drag a message row onto a folder to move it (the list form's "move" button does the same).
  function enableDragAndDrop() {
    var form = document.getElementById("list-form");
    if (!form) return;
    document.querySelectorAll("tr[data-uid]").forEach(function (row) {
      row.addEventListener("dragstart", function (event) {
        event.dataTransfer.setData("text/x-postbus-uid", row.getAttribute("data-uid"));
        event.dataTransfer.effectAllowed = "move";
      });
    });
    document.querySelectorAll("[data-drop-folder]").forEach(function (link) {
      link.addEventListener("dragover", function (event) {
        if (event.dataTransfer.types.indexOf("text/x-postbus-uid") >= 0) { event.preventDefault(); link.classList.add("drop-target"); }
      });
      link.addEventListener("dragleave", function () { link.classList.remove("drop-target"); });
      link.addEventListener("drop", function (event) {
        event.preventDefault();
        var uid = event.dataTransfer.getData("text/x-postbus-uid");
        var box = form.querySelector("input[name=uid][value='" + uid + "']");
        if (!box) return;
        form.querySelectorAll("input[name=uid]").forEach(function (b) { b.checked = (b === box); });
        form.querySelector("select[name=target]").value = link.getAttribute("data-drop-folder");
        var move = form.querySelector("button[value=move]");
        form.requestSubmit(move);
      });
    });
  }

  // Keyboard: "/" search, j/k next/previous message, Enter open, "#"/Delete delete selected.
  function enableShortcuts() {
    document.addEventListener("keydown", function (event) {
      var t = event.target;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (t.matches("input, textarea, select") && event.key !== "Escape") return;
      var links = Array.prototype.slice.call(document.querySelectorAll(".messages tbody .col-subject a"));
      var index = links.indexOf(document.activeElement);
      if (event.key === "/") { var q = document.getElementById("q"); if (q) { q.focus(); event.preventDefault(); } }
      else if (event.key === "j" && links.length) { links[Math.min(index + 1, links.length - 1)].focus(); event.preventDefault(); }
      else if (event.key === "k" && links.length) { links[Math.max(index - 1, 0)].focus(); event.preventDefault(); }
      else if ((event.key === "#" || event.key === "Delete") && index >= 0) {
        var row = links[index].closest("tr"); var box = row && row.querySelector("input[name=uid]");
        var del = document.querySelector("#list-form button[value=delete]");
        if (box && del) { box.checked = true; del.click(); }
      }
    });
  }

  // Live updates: counts, quota, and the open list when its folder changed.
  function liveUpdates() {
    var url = document.body.getAttribute("data-events");
    if (!url || !window.EventSource) return;
    var current = document.body.getAttribute("data-folder");
    var source = new EventSource(url);
    // A refused stream (the session ended) is not retried: reload, which leads to the login page.
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) window.location.reload();
    });
    source.addEventListener("change", function (event) {
      var data = JSON.parse(event.data);
      Object.keys(data.folders).forEach(function (name) {
        document.querySelectorAll("[data-unread]").forEach(function (el) {
          if (el.getAttribute("data-unread") !== name) return;
          var n = data.folders[name].unread;
          el.hidden = !n;
          el.lastChild.textContent = String(n);
        });
      });
      var meter = document.getElementById("quota-meter");
      if (meter) { meter.value = data.quota.used; meter.textContent = data.quota.percent + "%"; }
      var list = document.getElementById("message-list");
      var busy = list && list.querySelector("input[name=uid]:checked");
      if (list && !busy && data.changed.indexOf(current) >= 0) refreshList(list);
    });
  }

  function refreshList(list) {
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("message-list");
        var quota = doc.querySelector("[data-quota-text]");
        if (fresh) { list.replaceWith(fresh); enableDragAndDrop(); }
        var oldQuota = document.querySelector("[data-quota-text]");
        if (quota && oldQuota) oldQuota.textContent = quota.textContent;
      });
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });

  ready(function () {
    document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
    document.querySelectorAll("iframe.html-body").forEach(function (frame) {
      frame.addEventListener("load", function () { fitFrame(frame); });
      fitFrame(frame);
    });
    enableDragAndDrop();
    enableShortcuts();
    liveUpdates();
  });
})();
