// The result page: its print button prints the one-page report (see the print stylesheet in dermai.css).
(function () {
  "use strict";
  var button = document.getElementById("print-report");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
