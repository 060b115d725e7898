"""Logging for every process: plain lines, or one JSON object a line (LOG_FORMAT=json) for a
log collector; phone numbers are masked in every record, whoever logs them."""

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
#: E.164 numbers, also inside "whatsapp:+371…".
PHONE = re.compile(r"\+\d{8,15}\b")


def mask_phone(match: re.Match) -> str:
    number = match.group(0)
    return number[:4] + "…" + number[-2:]


class MaskPhones(logging.Filter):
    """+37120000001 → +371…01: enough to tell numbers apart, not enough to call them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = PHONE.sub(mask_phone, message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def configure_logging(log_format: str = "text", stream=None) -> logging.Handler:
    """Install PartnerLift's handler on the root logger (once, however many apps are made)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter(FORMAT) if log_format == "json" else logging.Formatter(FORMAT)
    )
    handler.addFilter(MaskPhones())
    handler.partnerlift = True
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "partnerlift", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler
