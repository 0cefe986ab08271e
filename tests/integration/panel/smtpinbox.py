"""A real local SMTP server for the panel's mail tests (aiosmtpd, pinned in
tests/requirements.txt): every message the panel sends, parsed, in arrival order."""
import email
import email.policy
import threading

from aiosmtpd.controller import Controller

import cxtest


def smtp_server(handler):
    """Start aiosmtpd on a free loopback port; .port, .handler, .stop()."""
    ctl = Controller(handler, hostname="127.0.0.1", port=cxtest.free_port())
    ctl.start()
    return ctl


class Inbox:
    """aiosmtpd handler: every message the panel sends, parsed."""

    def __init__(self):
        self.messages = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.cond:
            self.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                  "subject": str(msg["Subject"]), "text": msg.get_content(),
                                  "msg": msg})
            self.cond.notify_all()
        return "250 OK"

    def count(self):
        with self.cond:
            return len(self.messages)

    def next(self, seen, timeout=30):
        """The message after the first @p seen ones."""
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.messages) > seen, timeout), "no mail"
            return self.messages[seen]
