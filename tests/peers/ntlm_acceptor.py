"""An NTLM acceptor from pyspnego, the real peer Rolecall's NTLM client is tested against.

Reads one base64 NTLM token per line on stdin (the NEGOTIATE_MESSAGE, then the
AUTHENTICATE_MESSAGE) and answers each on stdout with one line:

    CHALLENGE <base64>     the CHALLENGE_MESSAGE to hand to the client
    ACCEPTED <DOMAIN\\user> the client proved the password of this user
    REJECTED <reason>      the client did not; the process exits with status 1

The users and passwords come from the file named by NTLM_USER_FILE, one `DOMAIN:user:password`
line each (pyspnego's own format; `:user@domain:password` for a UPN).
"""

import base64
import sys

import spnego


def main() -> int:
    context = spnego.server(protocol="ntlm")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            reply = context.step(base64.b64decode(line, validate=True))
        except Exception as error:  # every refusal is an answer, not a crash
            print(f"REJECTED {type(error).__name__}: {error}", flush=True)
            return 1
        if context.complete:
            print(f"ACCEPTED {context.client_principal}", flush=True)
            return 0
        if reply is None:
            print("REJECTED the acceptor had nothing to answer", flush=True)
            return 1
        print(f"CHALLENGE {base64.b64encode(reply).decode()}", flush=True)
    print("REJECTED the client stopped before authenticating", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
