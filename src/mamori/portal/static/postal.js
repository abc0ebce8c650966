/* Mamori's privacy center: fill the prefecture and municipality from the postal code.
   Progressive enhancement only: without this script the server fills blank fields when
   the form is sent. The code goes in a POST body, never in a URL. A field is filled only
   when it is empty or still holds what this script put there, so nothing the member
   typed is overwritten. */
(function () {
  "use strict";
  var code = document.querySelector("[data-postal-code]");
  if (!code || !window.fetch) { return; }
  var targets = {
    prefecture: document.getElementById(code.getAttribute("data-postal-prefecture") || ""),
    municipality: document.getElementById(code.getAttribute("data-postal-municipality") || "")
  };
  var status = document.getElementById(code.getAttribute("data-postal-status") || "");
  var asked = "";
  var pending = null;

  function digits(value) {
    // Full-width digits to ASCII, then keep only digits: "１００ー０００１" -> "1000001".
    var ascii = value.replace(/[\uFF10-\uFF19]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xFEE0);
    });
    return ascii.replace(/[^0-9]/g, "");
  }

  function fill(field, value) {
    if (!field) { return false; }
    var mine = field.getAttribute("data-filled");
    if (field.value !== "" && field.value !== mine) { return false; }
    // A code covering several places names none: take back only what this script wrote.
    field.value = value || "";
    field.setAttribute("data-filled", field.value);
    return !!value;
  }

  function look(wanted) {
    if (pending) { pending.abort(); }
    pending = window.AbortController ? new AbortController() : null;
    fetch("/privacy/postal-code", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ code: wanted }),
      credentials: "same-origin",
      signal: pending ? pending.signal : undefined
    }).then(function (answer) {
      if (!answer.ok || digits(code.value) !== wanted) { return null; }
      return answer.json();
    }).then(function (place) {
      if (!place) { return; }
      var a = fill(targets.prefecture, place.prefecture);
      var b = fill(targets.municipality, place.municipality);
      if ((a || b) && status) { status.textContent = status.getAttribute("data-message") || ""; }
    }).catch(function () { /* offline or aborted: the server fills blanks on save */ });
  }

  code.addEventListener("input", function () {
    var wanted = digits(code.value);
    if (wanted.length !== 7 || wanted === asked) { return; }
    asked = wanted;
    look(wanted);
  });
}());
