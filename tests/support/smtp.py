"""A real SMTP server for tests: aiosmtpd on loopback, keeping what it receives."""


class Mailbox:
    """aiosmtpd handler: keeps every message and the user it was sent as."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        user = session.auth_data.decode() if session.authenticated else None
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content, user))
        return "250 OK"
