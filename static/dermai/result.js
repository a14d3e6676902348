// The result page: focus (and a screen reader) starts at the headline, which names the verdict and is described
// by the referral line; the print button prints the one-page report (see the print stylesheet in dermai.css).
(function () {
  "use strict";
  var headline = document.getElementById("headline");
  if (headline) headline.focus();
  var button = document.getElementById("print-report");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
