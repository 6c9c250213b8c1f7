"""SMS through an adapter (短信网关).

`settings.SMS_BACKEND` names the class to use (env `SMS_BACKEND`). The default,
`LoggingSMSBackend`, only writes a log line with the number masked. To plug in a provider
(阿里云短信, 腾讯云短信, an operator's gateway...), subclass `BaseSMSBackend` in a module of
your own, implement `send`, and point `SMS_BACKEND` at it, e.g.

    class AliyunSMSBackend(BaseSMSBackend):
        def send(self, phone, text, *, idempotency_key=""):
            response = client.send_sms(phone_numbers=phone, sign_name=..., template_code=...,
                                       template_param=..., out_id=idempotency_key)
            if response.code != "OK":
                raise SMSError(response.message)
            return response.biz_id

Rules for a backend:
- raise an exception when the provider did not accept the message (the delivery is retried);
- pass `idempotency_key` (our delivery id, stable across retries) to the provider when it
  supports de-duplication (`out_id`, `SessionContext`, ...): that closes the window in which a
  crash between the provider's accept and our "sent" mark could send twice;
- never log the phone number in clear: use `apps.core.crypto.mask_phone`.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.utils.module_loading import import_string

from apps.core.crypto import mask_phone

logger = logging.getLogger("apps.notifications.sms")


class SMSError(Exception):
    """The provider refused or failed to take the message."""


class BaseSMSBackend:
    def send(self, phone: str, text: str, *, idempotency_key: str = "") -> str:
        """Hand one message to the provider; return the provider's message id."""
        raise NotImplementedError


class LoggingSMSBackend(BaseSMSBackend):
    """Default: writes the message to the log (number masked). Sends nothing."""

    def send(self, phone: str, text: str, *, idempotency_key: str = "") -> str:
        logger.info("SMS to %s [%s]: %s", mask_phone(phone), idempotency_key, text)
        return f"log-{idempotency_key}"


class LocmemSMSBackend(BaseSMSBackend):
    """For tests: keeps every message in `LocmemSMSBackend.outbox` (like Django's locmem mail)."""

    outbox: list[dict] = []
    _lock = threading.Lock()

    def send(self, phone: str, text: str, *, idempotency_key: str = "") -> str:
        with self._lock:
            self.outbox.append({"phone": phone, "text": text, "key": idempotency_key})
        return f"locmem-{len(self.outbox)}"


def sms_backend() -> BaseSMSBackend:
    return import_string(settings.SMS_BACKEND)()
