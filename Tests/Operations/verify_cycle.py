#!/usr/bin/env python3
"""Compares what entra_cycle.py was told (its report) with what the database holds, read with SQL.

  verify_cycle.py REPORT DATABASE_URL TENANT_SLUG PREFIX [--reads-safe-after SECONDS]

Prints sent, acknowledged, stored, lost, duplicated and the seconds in which clients met failures,
and exits 1 on any lost or duplicated object, any object the client gave up on, or (with
--reads-safe-after) any read that failed after that moment of the cycle.
"""
import argparse
import json
import subprocess
import sys


def query(database_url, sql):
    out = subprocess.run(["psql", "-qAtX", "--no-psqlrc", database_url, "-c", sql],
                         check=True, capture_output=True, text=True).stdout.strip()
    return json.loads(out) if out else []


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("database_url")
    parser.add_argument("tenant")
    parser.add_argument("prefix")
    parser.add_argument("--reads-safe-after", type=float, default=None,
                        help="seconds into the cycle after which no GET may fail")
    args = parser.parse_args()
    with open(args.report) as f:
        report = json.load(f)
    tenant = args.tenant.replace("'", "''")
    like = args.prefix.replace("'", "''") + "%"
    users = query(args.database_url, f"""
        select coalesce(json_agg(json_build_object('userName', u.user_name, 'id', u.id, 'displayName', u.display_name)), '[]')
        from scim.users u join scim.tenants t on t.id = u.tenant_id
        where t.slug = '{tenant}' and u.user_name like '{like}'""")
    groups = query(args.database_url, f"""
        select coalesce(json_agg(json_build_object('displayName', g.display_name, 'id', g.id,
            'members', (select coalesce(json_agg(m.member_id), '[]') from scim.group_members m
                        where m.tenant_id = g.tenant_id and m.group_id = g.id))), '[]')
        from scim.groups g join scim.tenants t on t.id = g.tenant_id
        where t.slug = '{tenant}' and g.display_name like '{like}'""")

    lost, duplicated = [], []
    stored_users = {}
    for u in users:
        stored_users.setdefault(u["userName"].lower(), []).append(u)
    for name, rows in stored_users.items():
        if len(rows) > 1:
            duplicated.append("user " + name)
    for name, acknowledged in report["users"].items():
        rows = stored_users.get(name.lower(), [])
        if not any(r["id"] == acknowledged["id"] for r in rows):
            lost.append("user %s (%s)" % (name, acknowledged["id"]))
        elif rows[0]["displayName"] != acknowledged["displayName"]:
            lost.append("update of user %s (stored %r, acknowledged %r)" % (name, rows[0]["displayName"], acknowledged["displayName"]))
    stored_groups = {}
    for g in groups:
        stored_groups.setdefault(g["displayName"].lower(), []).append(g)
    stored_memberships = 0
    for name, rows in stored_groups.items():
        if len(rows) > 1:
            duplicated.append("group " + name)
        for r in rows:
            stored_memberships += len(r["members"])
            if len(set(r["members"])) != len(r["members"]):
                duplicated.append("members of group " + name)
    acknowledged_memberships = 0
    for name, acknowledged in report["groups"].items():
        rows = stored_groups.get(name.lower(), [])
        row = next((r for r in rows if r["id"] == acknowledged["id"]), None)
        acknowledged_memberships += len(acknowledged["members"])
        if row is None:
            lost.append("group %s (%s)" % (name, acknowledged["id"]))
            continue
        missing = set(acknowledged["members"]) - set(row["members"])
        if missing:
            lost.append("%d members of group %s" % (len(missing), name))

    sent = report["sent"]
    acknowledged_updates = sum(1 for u in report["users"].values() if u["displayName"].startswith("Updated "))
    print("sent:         %d users, %d groups, %d memberships, %d updates" % (sent["users"], sent["groups"], sent["memberships"], sent["updates"]))
    print("acknowledged: %d users, %d groups, %d memberships, %d updates" % (len(report["users"]), len(report["groups"]), acknowledged_memberships, acknowledged_updates))
    print("stored:       %d users, %d groups, %d memberships (read with SQL)" % (len(users), len(groups), stored_memberships))
    print("lost:         %d%s" % (len(lost), (": " + "; ".join(lost[:5])) if lost else ""))
    print("duplicated:   %d%s" % (len(duplicated), (": " + "; ".join(duplicated[:5])) if duplicated else ""))
    failures = report["failed_attempts"]
    seconds = sorted({int(t) for t, _, status in failures if status == 0 or status >= 500})
    print("failed attempts: %d (%s); seconds of the cycle in which clients met 5xx or no answer: %d (%s)"
          % (len(failures), ", ".join("%s: %d" % (s, sum(1 for f in failures if f[2] == s)) for s in sorted({f[2] for f in failures})),
             len(seconds), ", ".join(str(s) for s in seconds)))
    if "failed_attempts_untimed" in report:
        print("failed attempts the client could not time: %d" % report["failed_attempts_untimed"])
    if report["answered_per_second"]:
        answered = {int(k): v for k, v in report["answered_per_second"].items()}
        last = int(report["seconds"])
        silent = [s for s in range(0, last) if answered.get(s, 0) == 0]
        print("seconds of the cycle without one successful answer: %d (%s)" % (len(silent), ", ".join(str(s) for s in silent)))
    for outage in report["outages"]:
        print("event at %.1f s: %s; longest wait for a successful answer after it: %.2f s (%.1f s to %.1f s)"
              % (outage["at"], outage["event"], outage["seconds"], outage["from"], outage["to"]))
    failed = bool(lost or duplicated or report["given_up"])
    if report["given_up"]:
        print("given up by the client: %d (%s)" % (len(report["given_up"]), "; ".join(report["given_up"][:5])))
    if args.reads_safe_after is not None:
        late_reads = [f for f in failures if f[1] == "GET" and f[0] >= args.reads_safe_after]
        print("reads failed after %.1f s: %d" % (args.reads_safe_after, len(late_reads)))
        failed = failed or bool(late_reads)
    if len(report["users"]) != sent["users"] or len(users) != len(report["users"]):
        print("not every user sent was acknowledged and stored")
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
