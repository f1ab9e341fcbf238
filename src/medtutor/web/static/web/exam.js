/* medtutor exams: autosave with a client sequence number, the block timer, strike-out, shortcuts.
 * The page works without this file (every button posts the form); this saves each change at once.
 * No inline handlers (CSP: script-src 'self'). */
(function () {
  "use strict";

  var TEXT_INPUT_TYPES = /^(text|search|email|password|number|url|tel|date|datetime-local|month|week|time|file)$/i;

  function isTextField(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") return TEXT_INPUT_TYPES.test(el.type || "text");
    return false;
  }

  function formatSeconds(total) {
    total = Math.max(0, Math.round(total));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    var mm = h ? (m < 10 ? "0" + m : String(m)) : String(m);
    return (h ? h + ":" : "") + mm + ":" + (s < 10 ? "0" + s : String(s));
  }

  /* --- the timer: counts down from the server's seconds-left, so the client's clock does not matter --- */
  function setupTimer(onExpire) {
    var timer = document.getElementById("exam-timer");
    if (!timer) return;
    var value = timer.querySelector("[data-timer-value]");
    var announce = timer.querySelector("[data-timer-announce]");
    var endsAt = Date.now() + parseInt(timer.getAttribute("data-seconds-left") || "0", 10) * 1000;
    var announced = {};
    function tick() {
      var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
      value.textContent = formatSeconds(left);
      timer.classList.toggle("is-low", left <= 300);
      [300, 60].forEach(function (mark) {
        if (left <= mark && left > mark - 5 && !announced[mark] && announce) {
          announced[mark] = true;
          announce.textContent = (mark / 60) + " minute" + (mark > 60 ? "s" : "") + " left";
        }
      });
      if (left <= 0) {
        window.clearInterval(handle);
        value.textContent = "0:00";
        if (announce) announce.textContent = "Time is up. Your answers are being submitted.";
        if (onExpire) onExpire();
        /* The server has closed the attempt at its deadline whatever happens here (later answers are refused,
           the score counts what was saved by then), so the report can wait: each browser asks for it within
           1.5 to 6 s, not all of a cohort's in the same second. */
        var wait = 1500 + Math.floor(Math.random() * 4500);
        window.setTimeout(function () { window.location.assign(timer.getAttribute("data-expire-url")); }, wait);
      }
    }
    var handle = window.setInterval(tick, 1000);
    tick();
  }

  var form = document.querySelector("form[data-exam-form]");
  if (!form) { setupTimer(null); return; }

  var status = document.getElementById("save-status");
  var alertBox = document.getElementById("exam-alert");
  var lastSeq = parseInt(form.getAttribute("data-seq") || "0", 10);
  var itemMs = parseInt(form.getAttribute("data-item-ms") || "0", 10);
  var shownAt = Date.now();
  var isLocked = form.getAttribute("data-locked") === "1";
  var inFlight = false, pending = false, closed = false, retries = 0, noteTimer = null;
  var csrf = (form.querySelector('input[name="csrfmiddlewaretoken"]') || {}).value || "";

  var saveButton = form.querySelector("[data-save-button]");
  if (saveButton) saveButton.hidden = true;
  var strikeButtons = form.querySelectorAll("[data-strike]");
  for (var i = 0; i < strikeButtons.length; i++) strikeButtons[i].hidden = false;

  function setStatus(text, kind) {
    if (!status) return;
    status.textContent = text;
    status.className = "save-status" + (kind ? " " + kind : "");
  }

  function showAlert(message, link) {
    if (!alertBox) return;
    alertBox.innerHTML = "";
    var p = document.createElement("p");
    p.className = "alert alert-error";
    p.setAttribute("role", "alert");
    p.textContent = message + " ";
    if (link) {
      var a = document.createElement("a");
      a.href = link;
      a.textContent = "See your score report";
      p.appendChild(a);
    }
    alertBox.appendChild(p);
  }

  function nextSeq() {
    lastSeq = Math.max(lastSeq + 1, Date.now());
    return lastSeq;
  }

  function spentMs() { return itemMs + (Date.now() - shownAt); }

  function fillHidden(seq) {
    form.querySelector('input[name="seq"]').value = String(seq);
    form.querySelector('input[name="item_ms"]').value = String(spentMs());
  }

  function lockForm() {
    closed = true;
    var controls = form.querySelectorAll("input, textarea, button");
    for (var i = 0; i < controls.length; i++) controls[i].disabled = true;
  }

  function updateNavigator(data) {
    var link = document.querySelector('[data-nav-position="' + data.position + '"]');
    if (link) {
      link.classList.toggle("is-answered", !!data.answered);
      link.classList.toggle("is-flagged", !!data.flagged);
      link.setAttribute("aria-label", "Question " + data.position + ": " + (data.answered ? "answered" : "unanswered") +
        (data.flagged ? ", flagged" : ""));
    }
    var answered = document.querySelectorAll(".navigator-list .is-answered").length;
    var flagged = document.querySelectorAll(".navigator-list .is-flagged").length;
    var a = document.querySelector("[data-count-answered]"), f = document.querySelector("[data-count-flagged]");
    if (a) a.textContent = String(answered);
    if (f) f.textContent = String(flagged);
  }

  function save() {
    if (closed) return;
    if (inFlight) { pending = true; return; }
    var seq = nextSeq();
    fillHidden(seq);
    var body = new FormData(form);
    body.delete("action");
    inFlight = true;
    setStatus("Saving…", "is-saving");
    fetch(form.getAttribute("action"), {
      method: "POST", body: body, credentials: "same-origin", keepalive: true,
      headers: { "Accept": "application/json", "X-CSRFToken": csrf }
    }).then(function (response) {
      return response.json().then(function (data) { return { response: response, data: data }; },
                                   function () { return { response: response, data: {} }; });
    }).then(function (result) {
      inFlight = false;
      var data = result.data || {};
      if (result.response.ok) {
        retries = 0;
        var time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
        setStatus("Saved " + time, "is-saved");
        updateNavigator(data);
        if (pending) { pending = false; save(); }
        return;
      }
      pending = false;
      if (result.response.status === 409 && data.report_url) {
        lockForm();
        setStatus("Not saved: the exam is closed", "is-error");
        showAlert(data.detail || "This exam is closed.", data.report_url);
        return;
      }
      setStatus("Not saved: " + (data.detail || ("the server answered " + result.response.status)), "is-error");
      if (data.detail) showAlert(data.detail, null);
    }, function () {
      /* No answer (connection lost): try again with the latest state and a new sequence number. */
      inFlight = false;
      pending = false;
      retries += 1;
      setStatus("Connection lost: your answer is kept here and will be saved when the connection returns…", "is-error");
      window.setTimeout(save, Math.min(30000, 1000 * Math.pow(2, Math.min(retries, 5))));
    });
  }

  function toggleStrike(index) {
    if (isLocked) return;
    var li = form.querySelector('[data-option="' + index + '"]');
    if (!li) return;
    var struck = !li.classList.contains("is-struck");
    li.classList.toggle("is-struck", struck);
    var button = li.querySelector("[data-strike]");
    if (button) button.setAttribute("aria-pressed", struck ? "true" : "false");
    var hidden = li.querySelector('input[name="struck"]');
    if (struck && !hidden) {
      hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = "struck";
      hidden.value = String(index);
      li.appendChild(hidden);
    } else if (!struck && hidden) {
      hidden.parentNode.removeChild(hidden);
    }
    save();
  }

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "choice" || target.name === "flagged") {
      if (target.name === "flagged") {
        var badge = document.querySelector("[data-flag-badge]");
        if (badge) badge.hidden = !target.checked;
      }
      save();
    }
  });

  /* The note and a short answer's text save after a pause in typing, and on leaving the box. */
  var typedFields = form.querySelectorAll("[data-note], [data-answer-text]");
  Array.prototype.forEach.call(typedFields, function (note) {
    note.addEventListener("input", function () {
      window.clearTimeout(noteTimer);
      setStatus("Typing…", "is-saving");
      noteTimer = window.setTimeout(function () { noteTimer = null; save(); }, 800);
    });
    note.addEventListener("blur", function () {
      if (noteTimer) { window.clearTimeout(noteTimer); noteTimer = null; save(); }
    });
  });

  form.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-strike]");
    if (button) {
      event.preventDefault();
      toggleStrike(button.getAttribute("data-strike"));
    }
  });

  /* A button that posts the whole form (next, previous, check, review) carries the newest sequence number. */
  form.addEventListener("submit", function () {
    if (noteTimer) { window.clearTimeout(noteTimer); noteTimer = null; }
    fillHidden(nextSeq());
  });

  /* Leaving by a navigator link with a note still being typed: send it first (keepalive outlives the page). */
  window.addEventListener("pagehide", function () {
    if (noteTimer) { window.clearTimeout(noteTimer); noteTimer = null; save(); }
  });

  document.addEventListener("keydown", function (event) {
    if (closed || event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (isTextField(event.target)) return;
    var key = event.key || "";
    var radios = form.querySelectorAll('input[type="radio"][name="choice"]');
    var index = -1;
    var digit = /^Digit([1-9])$/.exec(event.code || "");
    if (/^[1-9]$/.test(key)) index = parseInt(key, 10) - 1;
    else if (digit) index = parseInt(digit[1], 10) - 1;
    else if (/^[a-j]$/i.test(key)) index = key.toLowerCase().charCodeAt(0) - 97;
    if (index >= 0 && index < radios.length) {
      event.preventDefault();
      if (event.shiftKey) { toggleStrike(radios[index].value); return; }
      if (!radios[index].disabled) {
        radios[index].checked = true;
        radios[index].focus();
        radios[index].dispatchEvent(new Event("change", { bubbles: true }));
      }
      return;
    }
    var lower = key.toLowerCase();
    var button = null;
    if (lower === "m") {
      var flag = form.querySelector("[data-flag]");
      if (flag) { event.preventDefault(); flag.checked = !flag.checked; flag.dispatchEvent(new Event("change", { bubbles: true })); }
      return;
    }
    if (lower === "n") button = form.querySelector("[data-next]");
    else if (lower === "p") button = form.querySelector("[data-prev]");
    else if (key === "Enter") {
      var target = event.target;
      if (target && (target.tagName === "A" || target.tagName === "BUTTON")) return;
      button = form.querySelector("[data-check]") || form.querySelector("[data-next]") || form.querySelector("[data-review]");
    }
    if (button) {
      event.preventDefault();
      if (typeof form.requestSubmit === "function") form.requestSubmit(button);
      else button.click();
    }
  });

  /* Whatever was chosen or typed while this file was still loading saved nothing: save it now. */
  function changedBeforeLoad() {
    var fields = form.querySelectorAll("input, textarea");
    for (var j = 0; j < fields.length; j++) {
      var field = fields[j];
      if (field.disabled || field.type === "hidden") continue;
      if (field.type === "radio" || field.type === "checkbox") {
        if (field.checked !== field.defaultChecked) return true;
      } else if (field.value !== field.defaultValue) {
        return true;
      }
    }
    return false;
  }
  if (!isLocked && changedBeforeLoad()) save();
  form.setAttribute("data-autosave", "on");

  setupTimer(function () { lockForm(); setStatus("Time is up", "is-error"); });
  var result = document.querySelector("[data-result]");
  if (result) result.focus();
})();
