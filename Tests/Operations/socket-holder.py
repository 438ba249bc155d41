#!/usr/bin/env python3
"""What systemd's socket unit does for scim-fcgi.socket, for a machine whose init is not systemd:
hold the listening socket, start the service with it as fd 3 (LISTEN_FDS=1, LISTEN_PID=its pid),
and on SIGHUP restart the service (SIGTERM, wait for it to exit, start a new one) while the
socket stays open. SIGTERM stops the service and exits.

    socket-holder.py SOCKET_PATH PIDFILE -- PROGRAM [ARGS...]
"""
import os
import signal
import socket
import sys
import time

path, pidfile = sys.argv[1], sys.argv[2]
program = sys.argv[sys.argv.index("--") + 1:]

if os.path.exists(path):
    os.unlink(path)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
os.chmod(path, 0o666)
listener.listen(1024)


def start():
    # A stop may follow a start at once (restarts queue while a stop takes its time).
    # Until exec, the child would take a SIGTERM with this script's handler and lose it, so the
    # signals stay blocked across fork and exec: the service finds them pending, as a signal sent
    # before it blocks them itself.
    signal.pthread_sigmask(signal.SIG_BLOCK, held_signals)
    pid = os.fork()
    if pid == 0:
        for number in held_signals:
            signal.signal(number, signal.SIG_DFL)
        os.dup2(listener.fileno(), 3)
        os.set_inheritable(3, True)
        os.environ["LISTEN_FDS"] = "1"
        os.environ["LISTEN_PID"] = str(os.getpid())
        os.execvp(program[0], program)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, held_signals)
    return pid


def stop(pid):
    os.kill(pid, signal.SIGTERM)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


requests = []
held_signals = {signal.SIGTERM, signal.SIGHUP}
signal.signal(signal.SIGHUP, lambda *_: requests.append("restart"))
signal.signal(signal.SIGTERM, lambda *_: requests.append("stop"))
service = start()
with open(pidfile, "w") as f:
    f.write(str(os.getpid()))
restarts = 0
while True:
    if not requests:
        time.sleep(0.05)
        continue
    request = requests.pop(0)
    status = stop(service)
    if request == "stop":
        print(f"service stopped (exit {status}) after {restarts} restarts", flush=True)
        sys.exit(0)
    restarts += 1
    print(f"restart {restarts}: service exited {status}, starting again", flush=True)
    service = start()
