"""An NTLM client from pyspnego, the real peer the simulator's NTLM acceptor is tested against.

Usage: ntlm_initiator.py USERNAME (the password comes from the NTLM_PASSWORD variable, never
the command line). Prints the base64 NEGOTIATE_MESSAGE, reads the server's base64
CHALLENGE_MESSAGE from stdin, prints the base64 AUTHENTICATE_MESSAGE, one line each.
"""

import base64
import os
import sys

import spnego


def main() -> int:
    client = spnego.client(
        sys.argv[1], os.environ["NTLM_PASSWORD"], hostname="localhost", service="HTTP", protocol="ntlm"
    )
    print(base64.b64encode(client.step()).decode(), flush=True)
    challenge = base64.b64decode(sys.stdin.readline().strip(), validate=True)
    print(base64.b64encode(client.step(challenge)).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
