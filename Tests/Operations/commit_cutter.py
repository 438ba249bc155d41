#!/usr/bin/env python3
"""A TCP relay in front of PostgreSQL's unix socket that can lose a connection during COMMIT.

    commit_cutter.py LISTEN_PORT POSTGRES_SOCKET_FILE ARM_FILE

Passes bytes both ways. While ARM_FILE exists, the first client message carrying a COMMIT is sent
on to PostgreSQL, the relay waits until PostgreSQL has answered it (so the transaction did commit),
and then closes the client's connection without passing the answer on; ARM_FILE is removed. The
client saw its connection die during COMMIT: the outcome, for it, is unknown.
"""
import os
import re
import socket
import sys
import threading

port, postgres_socket, arm_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
arm_lock = threading.Lock()
# A Query ('Q') or Parse ('P') message whose SQL is COMMIT.
COMMIT = re.compile(rb"[QP][\x00-\xff]{4}(?:[^\x00]*\x00)?commit\x00", re.IGNORECASE)


def relay(client):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.connect(postgres_socket)
    cut, committed = threading.Event(), threading.Event()

    def server_to_client():
        try:
            while True:
                data = server.recv(65536)
                if not data:
                    break
                if cut.is_set():
                    # Swallow every answer up to COMMIT's CommandComplete; then the transaction is durable.
                    if b"COMMIT\x00" in data:
                        committed.set()
                        break
                    continue
                client.sendall(data)
        except OSError:
            pass
        finally:
            client.close()
            server.close()

    threading.Thread(target=server_to_client, daemon=True).start()
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            cutting = False
            if COMMIT.search(data):
                with arm_lock:
                    if os.path.exists(arm_file):
                        os.unlink(arm_file)
                        cutting = True
            if cutting:
                cut.set()
                server.sendall(data)
                # Wait for PostgreSQL's answer (it has committed), then drop the client unanswered.
                committed.wait(10)
                client.shutdown(socket.SHUT_RDWR)
                break
            server.sendall(data)
    except OSError:
        pass
    finally:
        client.close()
        server.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(64)
while True:
    connection, _ = listener.accept()
    threading.Thread(target=relay, args=(connection,), daemon=True).start()
