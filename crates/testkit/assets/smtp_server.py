"""A real SMTP server for the mail tests (Debian's python3-aiosmtpd).

Arguments: PORT CERT KEY OUT_DIR USER PASSWORD. It requires STARTTLS
before anything else, takes AUTH (over TLS only) for USER and PASSWORD,
answers the first message it is given with 451 (try again later), and
writes every message it accepts to OUT_DIR as NNNN.eml, the envelope's
recipients first (X-Envelope-To). Prints "ready" once it listens, and
stops when its standard input closes.
"""
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, out, user, password = sys.argv[1:7]


class Handler:
    def __init__(self):
        self.accepted = 0
        self.refused_once = False

    async def handle_DATA(self, server, session, envelope):
        if not self.refused_once:
            self.refused_once = True
            return "451 4.3.0 Busy: try again later"
        self.accepted += 1
        path = os.path.join(out, f"{self.accepted:04}.eml")
        with open(path + ".part", "wb") as f:
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content)
        os.rename(path + ".part", path)
        return "250 2.0.0 Accepted"


def authenticate(server, session, envelope, mechanism, data):
    ok = (
        isinstance(data, LoginPassword)
        and data.login.decode() == user
        and data.password.decode() == password
    )
    return AuthResult(success=ok)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=context,
    require_starttls=True,
    authenticator=authenticate,
    auth_require_tls=True,
)
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
