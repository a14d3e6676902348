// The result page: focus (and a screen reader) starts at the headline, which names the verdict and is described
// by the referral line; the print button prints the one-page report (see the print stylesheet in dermai.css).
// Deferred, this may run after a keyboard user has already moved on (upload.js focuses the headline as it writes the
// page): the focus is taken only while it rests nowhere, so a Tab already pressed keeps its place. The print button is
// shown only once it works: on a slow link this script can arrive seconds after the page.
(function () {
  "use strict";
  var headline = document.getElementById("headline");
  var resting = !document.activeElement || document.activeElement === document.body;
  if (headline && resting) headline.focus();
  var button = document.getElementById("print-report");
  if (!button) return;
  button.addEventListener("click", function () { window.print(); });
  button.hidden = false;
})();
