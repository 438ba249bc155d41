#!/usr/bin/env python3
"""An Entra-shaped initial provisioning cycle against one tenant, behaving as Entra does on failure.

Per user: GET /Users?filter=userName eq "..." then POST when not found. Per group: the same by
displayName. Then membership PATCHes adding 20 members at a time, and a replace of displayName
on 10% of the users. Requests that fail (5xx, 429, no answer) are retried the way Entra retries an
object: the whole step again after a pause, so a create whose outcome was unknown is first looked
up by filter (a create that committed is found, never made twice).

--event FRACTION=COMMAND runs COMMAND (a shell command) once that share of the work has been
handed out: the HA test kills the primary and a responder host this way.

Writes a JSON report: what was sent and acknowledged (with the ids the server returned), every
failed attempt with its time, and when each event ran. verify_cycle.py compares it with the
database. Standard library only: it runs on a bare Debian python3.
"""
import argparse
import http.client
import json
import queue
import random
import subprocess
import threading
import time
import urllib.parse

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Client:
    """One keep-alive connection, reopened after any failure; records failed attempts."""

    def __init__(self, base_url, token, report):
        parsed = urllib.parse.urlsplit(base_url)
        self.host, self.port, self.prefix = parsed.hostname, parsed.port or 80, parsed.path.rstrip("/")
        self.headers = {"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"}
        self.report = report
        self.connection = None

    def request(self, method, path, body=None):
        """One attempt: (status, parsed body or None); status 0 when no answer came."""
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            payload = json.dumps(body) if body is not None else None
            self.connection.request(method, self.prefix + path, body=payload, headers=self.headers)
            response = self.connection.getresponse()
            data = response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException):
            self.close()
            status, data = 0, b""
        if status == 0 or status >= 500 or status == 429:
            self.report.failed_attempt(method, status)
        elif status < 400:
            self.report.answered()
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, None

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class Report:
    def __init__(self):
        self.lock = threading.Lock()
        self.started = time.time()
        self.failed_attempts = []  # [seconds since start, method, status]
        self.answered_per_second = {}  # whole seconds since start -> successful answers
        self.answer_times = []  # seconds since start of every successful answer
        self.events = []  # [seconds since start, command]
        self.users = {}  # userName -> {"id", "displayName"} once acknowledged
        self.groups = {}  # displayName -> {"id", "members": [ids]} once acknowledged
        self.sent = {"users": 0, "groups": 0, "memberships": 0, "updates": 0}
        self.given_up = []
        self.requests = 0

    def failed_attempt(self, method, status):
        with self.lock:
            self.failed_attempts.append([round(time.time() - self.started, 3), method, status])

    def answered(self):
        at = time.time() - self.started
        with self.lock:
            self.answered_per_second[int(at)] = self.answered_per_second.get(int(at), 0) + 1
            self.answer_times.append(at)

    def outages(self):
        """Per event: the longest stretch without a successful answer that ends after it (and begins
        at most 15 s after it): how long the clients waited for the service to come back."""
        times = sorted(self.answer_times)
        gaps = [(a, b) for a, b in zip(times, times[1:]) if b - a > 0.2]
        result = []
        for at, command in self.events:
            near = [(b - a, a, b) for a, b in gaps if b > at and a <= at + 15]
            longest = max(near) if near else (0.0, at, at)
            result.append({"event": command, "at": at, "seconds": round(longest[0], 2),
                           "from": round(longest[1], 2), "to": round(longest[2], 2)})
        return result

    def as_json(self):
        return {"seconds": round(time.time() - self.started, 3), "requests": self.requests,
                "sent": self.sent, "users": self.users, "groups": self.groups,
                "failed_attempts": self.failed_attempts,
                "answered_per_second": self.answered_per_second, "outages": self.outages(), "events": self.events, "given_up": self.given_up}


def quoted(value):
    return urllib.parse.quote('"' + value + '"')


def with_retries(report, what, step, deadline_seconds):
    """Runs step() until it returns a result; Entra's way: the whole step again after a pause."""
    pause, deadline = 0.5, time.time() + deadline_seconds
    while True:
        result = step()
        if result is not None:
            return result
        if time.time() > deadline:
            with report.lock:
                report.given_up.append(what)
            return None
        time.sleep(pause + random.random() * 0.2)
        pause = min(pause * 2, 5.0)


def create_user(client, report, user_name, deadline):
    def step():
        status, body = client.request("GET", "/Users?filter=userName%20eq%20" + quoted(user_name))
        if status != 200:
            return None
        if body["totalResults"] == 1:
            return body["Resources"][0]["id"]
        status, body = client.request("POST", "/Users", {
            "schemas": [USER_SCHEMA], "userName": user_name, "active": True,
            "displayName": "User " + user_name.split("@")[0],
            "name": {"givenName": "Given", "familyName": user_name.split("@")[0]},
            "emails": [{"value": user_name, "type": "work", "primary": True}]})
        return body["id"] if status == 201 else None  # a 409: committed before; the next lookup finds it
    return with_retries(report, "user " + user_name, step, deadline)


def create_group(client, report, display_name, deadline):
    def step():
        status, body = client.request("GET", "/Groups?filter=displayName%20eq%20" + quoted(display_name)
                                      + "&excludedAttributes=members")
        if status != 200:
            return None
        if body["totalResults"] == 1:
            return body["Resources"][0]["id"]
        status, body = client.request("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": display_name})
        return body["id"] if status == 201 else None
    return with_retries(report, "group " + display_name, step, deadline)


def patch(client, report, what, path, operations, deadline):
    def step():
        status, _ = client.request("PATCH", path, {"schemas": [PATCH_SCHEMA], "Operations": operations})
        return True if status in (200, 204) else None
    return with_retries(report, what, step, deadline)


def run_phase(threads, items, work, report, events, total, done_before):
    """Runs work(client, item) over items on `threads` connections, firing events as work is handed out."""
    tasks = queue.Queue()
    for item in items:
        tasks.put(item)
    handed_out = [done_before]
    lock = threading.Lock()

    def worker(client):
        while True:
            try:
                item = tasks.get_nowait()
            except queue.Empty:
                return
            with lock:
                handed_out[0] += 1
                share = handed_out[0] / total
                due = [e for e in events if not e["fired"] and share >= e["at"]]
                for e in due:
                    e["fired"] = True
            for e in due:
                with report.lock:
                    report.events.append([round(time.time() - report.started, 3), e["command"]])
                threading.Thread(target=subprocess.run, args=(e["command"],), kwargs={"shell": True}).start()
            work(client, item)

    pool = [threading.Thread(target=worker, args=(client,)) for client in threads]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return handed_out[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the tenant's SCIM endpoint, .../scim/v2/TENANT")
    parser.add_argument("--token", required=True)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--prefix", default="cycle")
    parser.add_argument("--deadline", type=float, default=120, help="seconds one object may be retried")
    parser.add_argument("--event", action="append", default=[], help="FRACTION=COMMAND")
    parser.add_argument("--report", required=True)
    args = parser.parse_args()

    report = Report()
    events = []
    for spec in args.event:
        at, command = spec.split("=", 1)
        events.append({"at": float(at), "command": command, "fired": False})
    clients = [Client(args.url, args.token, report) for _ in range(args.concurrency)]
    user_names = ["%s-%05d@example.com" % (args.prefix, i) for i in range(args.users)]
    group_names = ["%s group %03d" % (args.prefix, i) for i in range(args.groups)]
    # Members: each user in one group, added 20 at a time (Entra's batch size).
    batches = []
    for g, group in enumerate(group_names):
        members = user_names[g::len(group_names)]
        batches += [(group, members[i:i + 20]) for i in range(0, len(members), 20)]
    updated = user_names[::10]
    total = len(user_names) + len(group_names) + len(batches) + len(updated)

    def user_work(client, name):
        with report.lock:
            report.sent["users"] += 1
        user_id = create_user(client, report, name, args.deadline)
        if user_id:
            with report.lock:
                report.users[name] = {"id": user_id, "displayName": "User " + name.split("@")[0]}

    def group_work(client, name):
        with report.lock:
            report.sent["groups"] += 1
        group_id = create_group(client, report, name, args.deadline)
        if group_id:
            with report.lock:
                report.groups[name] = {"id": group_id, "members": []}

    def member_work(client, batch):
        group, members = batch
        ids = [report.users[m]["id"] for m in members if m in report.users]
        with report.lock:
            report.sent["memberships"] += len(ids)
        if group not in report.groups or not ids:
            return
        ok = patch(client, report, "members of " + group, "/Groups/" + report.groups[group]["id"],
                   [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}], args.deadline)
        if ok:
            with report.lock:
                report.groups[group]["members"] += ids

    def update_work(client, name):
        with report.lock:
            report.sent["updates"] += 1
        if name not in report.users:
            return
        new_name = "Updated " + name.split("@")[0]
        ok = patch(client, report, "update " + name, "/Users/" + report.users[name]["id"],
                   [{"op": "replace", "path": "displayName", "value": new_name}], args.deadline)
        if ok:
            with report.lock:
                report.users[name]["displayName"] = new_name

    original_request = Client.request

    def counting_request(self, method, path, body=None):
        with report.lock:
            report.requests += 1
        return original_request(self, method, path, body)
    Client.request = counting_request

    done = run_phase(clients, user_names, user_work, report, events, total, 0)
    done = run_phase(clients, group_names, group_work, report, events, total, done)
    done = run_phase(clients, batches, member_work, report, events, total, done)
    run_phase(clients, updated, update_work, report, events, total, done)
    for client in clients:
        client.close()
    with open(args.report, "w") as f:
        json.dump(report.as_json(), f)
    result = report.as_json()
    print("cycle: %d requests in %.1f s (%.0f req/s), %d failed attempts, %d objects given up"
          % (result["requests"], result["seconds"], result["requests"] / max(result["seconds"], 0.001),
             len(result["failed_attempts"]), len(result["given_up"])))


if __name__ == "__main__":
    main()
