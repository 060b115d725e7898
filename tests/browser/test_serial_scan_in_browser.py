"""The serial from the camera: "Scan" on the install form where the browser reads barcodes."""

from playwright.sync_api import expect

from tests.browser.test_mobile_sign_in import sign_in_by_phone

TECHNICIAN = "+972542345679"  # the demo's Persian technician

#: A browser that cannot read barcodes (Chromium on a Linux desktop has none; said outright).
NO_DETECTOR = "delete window.BarcodeDetector;"

#: A browser that reads barcodes, with a camera that films a plate: the detector finds nothing
#: in the first frames, then the plate's code; the camera is a canvas's stream, kept to check
#: that it is stopped.
DETECTOR_AND_CAMERA = """
window.BarcodeDetector = class {
  constructor() { this.calls = 0; }
  async detect(source) {
    this.calls += 1;
    if (!(source instanceof HTMLVideoElement) || !source.srcObject) throw new TypeError("no video");
    return this.calls < 3 ? [] : [{ rawValue: " SN-PLATE-4711 ", format: "qr_code" }];
  }
  static async getSupportedFormats() { return ["qr_code", "code_128"]; }
};
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const canvas = document.createElement("canvas");
  canvas.width = 320; canvas.height = 240;
  canvas.getContext("2d").fillRect(0, 0, 320, 240);
  window.cameraStream = canvas.captureStream(10);
  window.cameraAsked = constraints;
  return window.cameraStream;
};
"""


def open_install_form(app, page):
    sign_in_by_phone(app, page, TECHNICIAN, "fa")
    page.goto(app.config["LIVE_URL"] + "/claims/new/install")


def test_without_a_barcode_reader_there_is_no_scan_button_and_typing_stays(live_app, phone_page):
    page = phone_page
    page.context.add_init_script(script=NO_DETECTOR)
    open_install_form(live_app, page)
    assert page.locator("button[data-scan-for=serial]").count() == 1
    assert not page.locator("button[data-scan-for=serial]").is_visible()
    page.fill("input[name=serial]", "SN-TYPED-1")
    assert page.input_value("input[name=serial]") == "SN-TYPED-1"


def test_scan_reads_the_plate_fills_the_serial_and_stops_the_camera(live_app, phone_page):
    page = phone_page
    page.context.add_init_script(script=DETECTOR_AND_CAMERA)
    open_install_form(live_app, page)
    scan = page.locator("button[data-scan-for=serial]")
    assert scan.is_visible()
    assert scan.inner_text() == "اسکن"
    scan.click()
    # The third frame shows the plate (the detect loop looks every 200 ms).
    expect(page.locator("input[name=serial]")).to_have_value("SN-PLATE-4711")
    assert page.evaluate("window.cameraAsked.video.facingMode") == "environment"
    assert page.evaluate("window.cameraStream.getTracks().map((track) => track.readyState)") == [
        "ended"
    ]
    assert not page.locator(".scanner").is_visible()
