// The upload page: preview the chosen photo, refuse an oversized one early, show progress while analysing.
// The photo comes from the file chooser (#photo) or, on a phone, straight from the camera (#camera): both are
// named "image", and choosing one clears the other so that exactly one photo is sent.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var inputs = [document.getElementById("photo"), document.getElementById("camera")].filter(Boolean);
  var preview = document.getElementById("preview");
  var button = document.getElementById("analyse");
  var spinner = document.querySelector("#progress .spinner");
  var progressText = document.getElementById("progress-text");
  var analysing = document.getElementById("analysing-text").content.textContent;
  var photoError = document.getElementById("photo-error");
  var maxBytes = Number(form.dataset.maxBytes);
  // Sizes with the page language's decimal separator ("10.0 MB", "10,0 MB").
  var oneDecimal = new Intl.NumberFormat(document.documentElement.lang || undefined,
                                         {minimumFractionDigits: 1, maximumFractionDigits: 1});
  var previewUrl = null;

  function showPhotoError(message) {
    photoError.textContent = message;
    photoError.hidden = !message;
  }

  function megabytes(bytes) {
    return oneDecimal.format(bytes / 1048576) + " MB";
  }

  function chosenFile() {
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].files.length) return inputs[i].files[0];
    }
    return null;
  }

  function onChoose(input) {
    inputs.forEach(function (other) { if (other !== input) other.value = ""; });
    var file = input.files[0];
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    preview.hidden = true;
    showPhotoError("");
    button.disabled = false;
    if (!file) return;
    if (file.size > maxBytes) {
      showPhotoError(form.dataset.tooLarge.replace("{size}", megabytes(file.size))
                                           .replace("{limit}", megabytes(maxBytes)));
      button.disabled = true;
      return;
    }
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.hidden = false;
  }

  inputs.forEach(function (input) {
    input.addEventListener("change", function () { onChoose(input); });
  });

  // Browsers that cannot show the format (e.g. TIFF) just skip the preview; the server still analyses it.
  preview.addEventListener("error", function () { preview.hidden = true; });

  form.addEventListener("submit", function (event) {
    if (!chosenFile()) {
      event.preventDefault();
      showPhotoError(form.dataset.chooseFirst);
      return;
    }
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    spinner.hidden = false;
    progressText.textContent = analysing;  // written into the live region: announced
  });

  // Coming back to the page from the result (bfcache) must not leave it looking busy.
  window.addEventListener("pageshow", function () {
    button.disabled = false;
    form.removeAttribute("aria-busy");
    spinner.hidden = true;
    progressText.textContent = "";
  });
})();
