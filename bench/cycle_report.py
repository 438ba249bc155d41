#!/usr/bin/env python3
"""Turns what bench/lua/entra_cycle.lua's threads acknowledged into the report that
Tests/Operations/verify_cycle.py compares with the database.

  cycle_report.py FOLDER USERS GROUPS SECONDS REQUESTS > report.json

FOLDER holds one THREAD.acks file a thread: lines "user ID NAME", "group ID NAME",
"members GROUP_ID ID...", "update ID" and a last "failed N".
"""
import glob
import json
import os
import sys


def main():
    folder, users, groups, seconds, requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    acknowledged_users, acknowledged_groups, name_of = {}, {}, {}
    memberships, updates, failed = [], [], 0
    for path in sorted(glob.glob(os.path.join(folder, "*.acks"))):
        with open(path) as f:
            for line in f:
                kind, _, rest = line.rstrip("\n").partition(" ")
                if kind == "user":
                    user_id, user_name = rest.split(" ", 1)
                    short = user_name.split("@")[0]
                    acknowledged_users[user_name] = {"id": user_id, "displayName": "User " + short}
                    name_of[user_id] = user_name
                elif kind == "group":
                    group_id, group_name = rest.split(" ", 1)
                    acknowledged_groups[group_name] = {"id": group_id, "members": []}
                    name_of[group_id] = group_name
                elif kind == "members":
                    group_id, *ids = rest.split(" ")
                    memberships.append((group_id, ids))
                elif kind == "update":
                    updates.append(rest)
                elif kind == "failed":
                    failed += int(rest)
    for group_id, ids in memberships:
        acknowledged_groups[name_of[group_id]]["members"] += ids
    for user_id in updates:
        user = acknowledged_users[name_of[user_id]]
        user["displayName"] = "Updated " + name_of[user_id].split("@")[0]
    json.dump({
        "seconds": seconds, "requests": requests,
        "sent": {"users": users, "groups": groups, "memberships": sum(len(ids) for _, ids in memberships),
                 "updates": len(updates)},
        "users": acknowledged_users, "groups": acknowledged_groups,
        # wrk's threads count failed attempts but have no clock to say when they came.
        "failed_attempts": [], "failed_attempts_untimed": failed,
        "answered_per_second": {}, "outages": [], "events": [], "given_up": [],
    }, sys.stdout)


if __name__ == "__main__":
    main()
