/* medtutor: small progressive enhancements. No inline handlers (CSP: script-src 'self').
 * Every page works without this file and without HTMX; this only adds comfort. */
(function () {
  "use strict";

  var pageStartedAt = Date.now();
  var TEXT_INPUT_TYPES = /^(text|search|email|password|number|url|tel|date|datetime-local|month|week|time|file)$/i;

  function elapsedSeconds() {
    return Math.max(0, Math.round((Date.now() - pageStartedAt) / 1000));
  }

  function fillElapsed(form) {
    var inputs = form.querySelectorAll('input[name="elapsed"]');
    for (var i = 0; i < inputs.length; i++) inputs[i].value = String(elapsedSeconds());
  }

  function isTextField(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") return TEXT_INPUT_TYPES.test(el.type || "text");
    return false;
  }

  /* 1. Confirmation on forms with data-confirm: runs first (capture) so HTMX never sees a cancelled submit. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    /* 2. Seconds since the question was shown, for forms that carry an elapsed field. */
    fillElapsed(form);
  }, true);

  /* HTMX builds its request from the form; make sure it gets the latest value too. */
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    var form = elt && (elt.tagName === "FORM" ? elt : elt.closest && elt.closest("form"));
    if (form && form.querySelector('input[name="elapsed"]')) {
      fillElapsed(form);
      try { event.detail.parameters.set ? event.detail.parameters.set("elapsed", String(elapsedSeconds()))
                                         : (event.detail.parameters.elapsed = String(elapsedSeconds())); } catch (e) { /* keep the form value */ }
    }
  });

  /* 3. Keyboard shortcuts on the question page: 1-9 or A-J choose an option, Enter submits. */
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    var form = document.querySelector("form[data-answer-form]");
    if (!form || isTextField(event.target)) return;
    var radios = form.querySelectorAll('input[type="radio"][name="choice"]');
    if (!radios.length) return;
    var key = event.key || "";
    var index = -1;
    if (/^[1-9]$/.test(key)) index = parseInt(key, 10) - 1;
    else if (/^[a-j]$/i.test(key)) index = key.toLowerCase().charCodeAt(0) - 97;
    if (index >= 0) {
      if (index < radios.length && !radios[index].disabled) {
        radios[index].checked = true;
        radios[index].focus();
        radios[index].dispatchEvent(new Event("change", { bubbles: true }));
        event.preventDefault();
      }
      return;
    }
    if (key === "Enter") {
      var target = event.target;
      /* Enter on a link or a button keeps its own meaning. */
      if (target && (target.tagName === "A" || target.tagName === "BUTTON")) return;
      var checked = form.querySelector('input[type="radio"][name="choice"]:checked');
      event.preventDefault();
      if (!checked) {
        radios[0].focus();
        if (typeof form.reportValidity === "function") form.reportValidity();
        return;
      }
      var button = form.querySelector('button[type="submit"], input[type="submit"]');
      if (button && button.disabled) return;
      if (typeof form.requestSubmit === "function") form.requestSubmit(button || undefined);
      else if (button) button.click();
    }
  });

  /* After an answer, move focus to the result so screen readers announce it. */
  function focusResult() {
    var result = document.querySelector("[data-result]");
    if (result) result.focus({ preventScroll: false });
  }
  document.addEventListener("htmx:afterSettle", function () {
    var card = document.getElementById("question-card");
    if (!card || card.contains(document.activeElement)) return;
    var result = card.querySelector("[data-result]");
    var alert = card.querySelector('[role="alert"]');
    if (result) result.focus();
    else if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
  });

  /* 4. Import: show progress and stop double submits. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-import-form") || event.defaultPrevented) return;
    var progress = form.querySelector(".import-progress, .htmx-indicator, progress");
    if (progress) progress.classList.add("is-active");
    var buttons = form.querySelectorAll('button[type="submit"], input[type="submit"]');
    /* Disable after the browser has taken the submission, so the post still goes out. */
    window.setTimeout(function () {
      for (var i = 0; i < buttons.length; i++) {
        buttons[i].disabled = true;
        buttons[i].setAttribute("aria-disabled", "true");
      }
    }, 0);
  });

  /* Coming back with the browser's Back button: undo the import form's busy state. */
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    var forms = document.querySelectorAll("form[data-import-form]");
    for (var i = 0; i < forms.length; i++) {
      var active = forms[i].querySelectorAll(".is-active");
      for (var j = 0; j < active.length; j++) active[j].classList.remove("is-active");
      var buttons = forms[i].querySelectorAll("[disabled]");
      for (var k = 0; k < buttons.length; k++) { buttons[k].disabled = false; buttons[k].removeAttribute("aria-disabled"); }
    }
  });

  /* 5. Copy buttons (API token): shown only where the Clipboard API is available. */
  function setupCopyButtons() {
    var buttons = document.querySelectorAll("button[data-copy-target]");
    for (var i = 0; i < buttons.length; i++) {
      (function (button) {
        if (!navigator.clipboard || !window.isSecureContext) return;
        button.hidden = false;
        button.addEventListener("click", function () {
          var source = document.getElementById(button.getAttribute("data-copy-target"));
          if (!source) return;
          navigator.clipboard.writeText(source.textContent.trim()).then(function () {
            button.textContent = "Copied";
          }, function () {
            button.textContent = "Copy failed: select the token and copy it";
          });
        });
      })(buttons[i]);
    }
  }

  function onReady() {
    setupCopyButtons();
    focusResult();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", onReady);
  else onReady();
})();

/* Flashcards: Space shows the answer, 1-4 grade it; HTMX also swaps the card on a 4xx (it says why). */
(function () {
  "use strict";

  function isTyping(el) {
    if (!el || el === document.body) return false;
    var tag = el.tagName;
    return el.isContentEditable || tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && !/^(hidden|radio|checkbox|button|submit)$/i.test(el.type || "text"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    var review = document.querySelector("[data-card-review]");
    if (!review || isTyping(event.target)) return;
    var answer = review.querySelector("details[data-card-answer]");
    if (!answer) return;
    var key = event.key || "";
    if (key === " " || key === "Spacebar") {
      var target = event.target;
      if (target && (target.tagName === "BUTTON" || target.tagName === "A") && !target.closest("summary")) return;
      event.preventDefault();
      if (!answer.open) {
        answer.open = true;
        var first = answer.querySelector('button[data-grade-key="3"]');
        if (first) first.focus();
      }
      return;
    }
    if (/^[1-4]$/.test(key) && answer.open) {
      var button = answer.querySelector('button[data-grade-key="' + key + '"]');
      if (button && !button.disabled) {
        event.preventDefault();
        button.click();
      }
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail || {};
    var target = detail.target;
    var status = detail.xhr ? detail.xhr.status : 0;
    if (target && target.id === "card-review" && status >= 400 && status < 500) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    var review = document.getElementById("card-review");
    if (!review || review.contains(document.activeElement)) return;
    var alert = review.querySelector('[role="alert"]');
    var summary = review.querySelector("details[data-card-answer] > summary");
    if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
    else if (summary) summary.focus();
  });
})();
