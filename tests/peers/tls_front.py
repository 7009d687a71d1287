"""A TLS front for a plain-HTTP server on loopback, as a company's TLS-terminating gateway is.

    python3 tls_front.py CERT KEY UPSTREAM_PORT

Listens on 127.0.0.1 (a free port, printed on stdout as the first line), completes TLS with
CERT/KEY and relays the bytes both ways to 127.0.0.1:UPSTREAM_PORT, one upstream connection per
client connection. A client that does not trust CERT's issuer fails its handshake here.
Standard library only.
"""

import socket
import ssl
import sys
import threading


def pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for side in (source, sink):
            try:
                side.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client: socket.socket, context: ssl.SSLContext, upstream_port: int) -> None:
    try:
        secure = context.wrap_socket(client, server_side=True)
    except (ssl.SSLError, OSError):
        client.close()  # an untrusting client hung up during the handshake
        return
    upstream = socket.create_connection(("127.0.0.1", upstream_port))
    back = threading.Thread(target=pump, args=(upstream, secure), daemon=True)
    back.start()
    pump(secure, upstream)
    back.join()
    secure.close()
    upstream.close()


def main() -> int:
    cert, key, upstream_port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(
            target=serve, args=(client, context, upstream_port), daemon=True
        ).start()


if __name__ == "__main__":
    sys.exit(main())
