#!/usr/bin/env python3
"""A responder host that dies mid-request: it accepts a FastCGI connection, reads the request
(its parameters and body), writes the request's method to a file, and closes the connection
without answering, as a host killed while serving would.

    dying_fastcgi_host.py PORT RECEIVED_FILE
"""
import socket
import struct
import sys

port, received_file = int(sys.argv[1]), sys.argv[2]
FCGI_PARAMS, FCGI_STDIN = 4, 5


def read_exactly(connection, size):
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def parameters(data):
    """FastCGI name-value pairs: lengths of 1 byte, or 4 with the high bit set."""
    values, offset = {}, 0
    while offset < len(data):
        lengths = []
        for _ in range(2):
            if data[offset] & 0x80:
                lengths.append(struct.unpack(">I", data[offset:offset + 4])[0] & 0x7FFFFFFF)
                offset += 4
            else:
                lengths.append(data[offset])
                offset += 1
        name = data[offset:offset + lengths[0]]
        offset += lengths[0]
        values[name.decode()] = data[offset:offset + lengths[1]].decode(errors="replace")
        offset += lengths[1]
    return values


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(16)
while True:
    connection, _ = listener.accept()
    params = b""
    try:
        # Records until the end of the body (an empty FCGI_STDIN record): the request was received whole.
        while True:
            _, kind, _, length, padding, _ = struct.unpack(">BBHHBB", read_exactly(connection, 8))
            content = read_exactly(connection, length)
            read_exactly(connection, padding)
            if kind == FCGI_PARAMS:
                params += content
            if kind == FCGI_STDIN and length == 0:
                break
        with open(received_file, "a") as f:
            f.write(parameters(params).get("REQUEST_METHOD", "?") + "\n")
    except (EOFError, OSError):
        pass
    connection.close()
