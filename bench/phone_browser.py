"""A phone in headless Chromium: 375x812, touch, Lighthouse's mobile network throttling (CDP), tapping Analyse on
the upload page and timing it until the result shows; what the result page weighed as transferred.

Only the page's stable contract is used: the file input `#photo`, the button `#analyse`, and the result page's
`#triage` / `#referral` and its print button, shown once its script has run; how the page gets there (a plain form post, or a script that scales the photo and posts
it) is its own business.
"""
import time

from harness.chromium import wait_for_result

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
# Lighthouse's mobile throttling: 150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up (CDP takes bytes per second).
NETWORK = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 // 8, "uploadThroughput": 750_000 // 8}
RESULT = "#triage, #referral"
HTML_TYPES = {"Document", "XHR", "Fetch"}  # a script that fetches the result page gets it as XHR/Fetch


def page_weight(transfers):
    """Bytes received (headers included, as transferred) by kind: the result page's HTML, its images, the rest."""
    weight = {"html_bytes": 0, "image_bytes": 0, "other_bytes": 0}
    for item in transfers.values():
        if item.get("bytes") is None:  # not finished (or never started) loading
            continue
        if item.get("type") in HTML_TYPES and "html" in item.get("mime", ""):
            weight["html_bytes"] += item["bytes"]
        elif item.get("type") == "Image":
            weight["image_bytes"] += item["bytes"]
        else:
            weight["other_bytes"] += item["bytes"]
    weight["page_bytes"] = weight["html_bytes"] + weight["image_bytes"]
    return weight


class Phone:
    """One throttled phone page on `base_url`, keeping what the network delivered since the last tap."""

    def __init__(self, browser, base_url):
        self.base_url, self.transfers = base_url, {}
        self.context = browser.new_context(**PHONE)
        self.page = self.context.new_page()
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", NETWORK)
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", self._finished)

    def _received(self, event):
        self.transfers[event["requestId"]] = {"type": event.get("type"), "url": event["response"]["url"],
                                              "mime": event["response"].get("mimeType", "")}

    def _finished(self, event):
        self.transfers.setdefault(event["requestId"], {})["bytes"] = int(event["encodedDataLength"])

    def tap_to_result(self, photo, timeout_s):
        """The upload page opened and `photo` chosen, then (seconds from the tap on Analyse to the result shown,
        the result page's weight)."""
        self.page.goto(self.base_url + "/", timeout=timeout_s * 1000)
        self.page.set_input_files("#photo", str(photo))
        self.transfers.clear()
        started = time.perf_counter()
        self.page.tap("#analyse", no_wait_after=True)
        self.page.wait_for_selector(RESULT, state="visible", timeout=timeout_s * 1000)
        seconds = time.perf_counter() - started
        wait_for_result(self.page, timeout_s * 1000)  # its script too, counted in its weight
        return seconds, page_weight(self.transfers)

    def close(self):
        self.context.close()
