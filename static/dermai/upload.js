// The upload page: preview the chosen photo, then send what the analysis needs rather than the camera's file.
// The photo comes from the file chooser (#photo) or, on a phone, straight from the camera (#camera): both are
// named "image", and choosing one clears the other so that exactly one photo is sent.
// With JavaScript the form is sent by XMLHttpRequest: a photo longer than data-send-side pixels is scaled down
// while it is decoded (createImageBitmap's resize options: a 50 MP photo never fills a canvas, which iOS caps at
// about 16.7 MP) and sent as a JPEG; the bytes sent show as a progress bar, then the analysing state; a dropped
// connection keeps the photo for a retry with one tap. While the photo waits in the server's queue the page shows its
// place in line and the expected wait, as the server streams them; a busy server's 503 counts down its Retry-After
// and sends the photo again by itself. Either can be cancelled, keeping the photo. Without JavaScript the form posts
// the original file and waits in the same queue.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var inputs = [document.getElementById("photo"), document.getElementById("camera")].filter(Boolean);
  var preview = document.getElementById("preview");
  var button = document.getElementById("analyse");
  var spinner = document.querySelector("#progress .spinner");
  var bar = document.getElementById("upload-progress");
  var progressText = document.getElementById("progress-text");
  var photoError = document.getElementById("photo-error");
  var sendError = document.getElementById("send-error");
  var cancel = document.getElementById("cancel");
  var countdown = document.getElementById("retry-countdown");
  var maxBytes = Number(form.dataset.maxBytes);
  // Sizes with the page language's decimal separator ("10.0 MB", "10,0 MB").
  var oneDecimal = new Intl.NumberFormat(document.documentElement.lang || undefined,
                                         {minimumFractionDigits: 1, maximumFractionDigits: 1});
  var previewUrl = null;
  var prepared = null;  // {file, blob, name}: the chosen photo as sent, kept for a retry
  var pending = null;  // the request on its way, or the timer of a busy answer's countdown: what Cancel stops

  function words(id) {
    return document.getElementById(id).content.textContent;
  }

  function showMessage(element, message) {
    element.textContent = message;
    element.hidden = !message;
  }

  function megabytes(bytes) {
    return oneDecimal.format(bytes / 1048576) + " MB";
  }

  function tooLarge(file) {
    return form.dataset.tooLarge.replace("{size}", megabytes(file.size)).replace("{limit}", megabytes(maxBytes));
  }

  function chosenFile() {
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].files.length) return inputs[i].files[0];
    }
    return null;
  }

  function onChoose(input) {
    if (pending) idle();  // another photo: the one waiting or counting down is not sent
    inputs.forEach(function (other) { if (other !== input) other.value = ""; });
    var file = input.files[0];
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    prepared = null;
    preview.hidden = true;
    showMessage(photoError, "");
    showMessage(sendError, "");
    if (!file) return;
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.hidden = false;
  }

  // The photo's upright size: the preview's, which the browser turns by its EXIF orientation.
  function uprightSize() {
    return new Promise(function (resolve) {
      if (preview.complete) {
        return resolve(preview.naturalWidth ? [preview.naturalWidth, preview.naturalHeight] : null);
      }
      preview.addEventListener("load", function () { resolve([preview.naturalWidth, preview.naturalHeight]); },
                               {once: true});
      preview.addEventListener("error", function () { resolve(null); }, {once: true});
    });
  }

  function scaledDown(width, height) {
    var factor = Number(form.dataset.sendSide) / Math.max(width, height);
    return [Math.max(1, Math.round(width * factor)), Math.max(1, Math.round(height * factor))];
  }

  // `source` (a bitmap or an image) drawn at width x height and encoded as the JPEG sent.
  function jpegOf(source, width, height) {
    var canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    var context = canvas.getContext("2d");
    context.imageSmoothingQuality = "high";
    context.drawImage(source, 0, 0, width, height);
    if (source.close) source.close();
    return new Promise(function (resolve) {
      canvas.toBlob(resolve, "image/jpeg", Number(form.dataset.sendQuality));
    });
  }

  // Decoded at the size sent and turned upright (a 50 MP photo never fills a canvas, which iOS caps at about
  // 16.7 MP). Where the resize options are ignored the bitmap comes whole and is drawn smaller; where they are
  // refused (a TypeError: older Safari), the preview, turned upright by the browser, is drawn smaller instead. A file
  // it cannot decode (any other error) is not scaled: the browser may show such a file in part, and a damaged
  // photo must reach the server as it is, to be refused with its reason, not as a blank JPEG.
  function scaledJpeg(file, width, height) {
    var decoding = window.createImageBitmap ?
      createImageBitmap(file, {imageOrientation: "from-image", resizeWidth: width, resizeHeight: height,
                               resizeQuality: "high"}) : Promise.reject(new TypeError("no createImageBitmap"));
    return decoding.catch(function (error) {
      if (error.name !== "TypeError") throw error;
      return preview;
    }).then(function (source) {
      return jpegOf(source, width, height);
    });
  }

  // What to send for `file`: the upright JPEG at data-send-side pixels on its long side when the photo is longer
  // and the JPEG is the smaller file; else the file itself, whose answer is the original's by definition (a photo
  // just over the side, already compressed, can be smaller than its scaled JPEG), and which the server may read where
  // the browser cannot. Null when it cannot be sent.
  function photoToSend(file) {
    return uprightSize().then(function (size) {
      if (size && Math.max(size[0], size[1]) > Number(form.dataset.sendSide)) {
        var target = scaledDown(size[0], size[1]);
        return scaledJpeg(file, target[0], target[1]).catch(function () { return null; });
      }
      return null;
    }).then(function (blob) {
      if (blob && blob.size < file.size) return blob;
      return file.size <= maxBytes ? file : null;
    });
  }

  function setBusy(busy) {
    button.disabled = busy;
    if (busy) form.setAttribute("aria-busy", "true");
    else form.removeAttribute("aria-busy");
  }

  function showState(message, spinning, sending) {
    progressText.textContent = message;  // written into the live region: announced
    spinner.hidden = !spinning;
    bar.hidden = !sending;
  }

  function idle() {  // also stops what is pending: a finished request or a fired timer ignores it
    if (pending) pending.stop();
    pending = null;
    cancel.hidden = true;
    countdown.hidden = true;
    setBusy(false);
    showState("", false, false);
  }

  // The server's place lines ("place N SECONDS") before the page: the last one is where the photo stands.
  var QUEUE = "DermAI-Queue";
  function showPlace(request) {
    var text = request.responseText, end = text.indexOf("\n\n");
    var lines = (end < 0 ? text : text.slice(0, end)).trim().split("\n");
    var last = lines[lines.length - 1].split(" ");
    if (last[0] !== "place") return;
    var message = last[1] === "0" ? words("analysing-text") :
      words("queue-text").replace("{place}", last[1]).replace("{seconds}", last[2]);
    if (progressText.textContent !== message) showState(message, true, false);  // announced only when it changes
  }

  function pageOf(request) {
    var text = request.responseText;
    return request.getResponseHeader(QUEUE) === "place" ? text.slice(text.indexOf("\n\n") + 2) : text;
  }

  // A busy server: its reason, then the photo sent again by itself when its Retry-After has passed; the seconds
  // left show (not announced each second: the announcement says when).
  function retryLater(seconds, blob, name) {
    var left = Math.max(1, seconds);
    showState(words("busy-text").replace("{seconds}", left), false, false);
    countdown.hidden = false;
    cancel.hidden = false;
    (function tick() {
      if (left <= 0) return send(blob, name);
      countdown.textContent = words("countdown-text").replace("{seconds}", left);
      left -= 1;
      pending = {stop: clearTimeout.bind(null, setTimeout(tick, 1000))};
    })();
  }

  // A page from the server replaces this one, as a plain form's answer would, and runs its own scripts; replacing the
  // document drops the focus, so it starts again where result.js puts it, at the headline.
  function showPage(html) {
    document.open();
    document.write(html);
    document.close();
    var headline = document.getElementById("headline");
    if (headline) headline.focus();
  }

  function send(blob, name) {
    var data = new FormData(form);
    data.delete("image");
    data.append("image", blob, name);
    var request = new XMLHttpRequest();
    pending = {stop: function () { request.abort(); }};
    countdown.hidden = true;
    request.open("POST", form.action);
    request.setRequestHeader(QUEUE, "place");
    request.addEventListener("progress", function () { showPlace(request); });
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) bar.value = event.loaded / event.total;
    });
    request.upload.addEventListener("load", function () {
      showState(words("analysing-text"), true, false);
      cancel.hidden = false;
    });
    request.addEventListener("load", function () {
      var retryAfter = Number(request.getResponseHeader("Retry-After"));
      if (request.status === 503 && retryAfter > 0) return retryLater(retryAfter, blob, name);
      if (request.status === 503) {  // not ready (the model unavailable): the reason, and the photo kept
        var reason = new DOMParser().parseFromString(request.responseText, "text/html").getElementById("error");
        idle();
        showMessage(sendError, reason ? reason.textContent : words("dropped-text"));
        return;
      }
      showPage(pageOf(request));
    });
    request.addEventListener("error", function () {
      idle();
      showMessage(sendError, words("dropped-text"));
    });
    bar.value = 0;
    showState(words("sending-text"), false, true);
    request.send(data);
  }

  inputs.forEach(function (input) {
    input.addEventListener("change", function () { onChoose(input); });
  });

  // Stops the wait in line or the countdown; the photo stays chosen for the Analyse button.
  cancel.addEventListener("click", function () {
    idle();
    showMessage(sendError, words("cancelled-text"));
    button.focus();
  });

  // Browsers that cannot show the format (e.g. TIFF) just skip the preview; the server still analyses it.
  preview.addEventListener("error", function () { preview.hidden = true; });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = chosenFile();
    showMessage(photoError, "");
    showMessage(sendError, "");
    if (!file) {
      showMessage(photoError, form.dataset.chooseFirst);
      return;
    }
    setBusy(true);
    if (prepared && prepared.file === file) return send(prepared.blob, prepared.name);
    showState(words("preparing-text"), true, false);
    photoToSend(file).then(function (blob) {
      if (!blob) {
        idle();
        showMessage(photoError, tooLarge(file));
        return;
      }
      var name = blob === file ? file.name : file.name.replace(/\.[^.]*$/, "") + ".jpg";
      prepared = {file: file, blob: blob, name: name};
      send(blob, name);
    });
  });

  // Coming back to the page from the result (bfcache) must not leave it looking busy.
  window.addEventListener("pageshow", idle);
})();
