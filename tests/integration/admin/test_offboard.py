#!/usr/bin/env python3
"""Retention and offboarding against the real PostgreSQL and Kafka broker (issue 15):
`connector-admin tenants delete` empties every table with a tenant column for that tenant and
leaves another tenant's rows alone, and reports what it removed and what Kafka can do about the
topics; `connector-admin prune` deletes old sync-log entries and old resolved dead letters,
never open ones."""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import adminlib as al  # noqa: E402
from adminlib import Admin, cxtest  # noqa: E402

# One row per table with a tenant_id column, for tenant {t}. A table the schema has and this
# list lacks fails test_every_tenant_table_is_covered: add it here (and check that
# tenants delete empties it).
ROWS = {
    "exact_tokens": "INSERT INTO exact_tokens (tenant_id) VALUES ('{t}') ON CONFLICT DO NOTHING",
    "mapping_rules": "INSERT INTO mapping_rules (tenant_id, rules) VALUES ('{t}', '{{}}') ON CONFLICT DO NOTHING",
    "sync_log": "INSERT INTO sync_log (tenant_id, stage, status, message)"
                " VALUES ('{t}', 'extract', 'ok', 'row of {t}')",
    "dead_letters": "INSERT INTO dead_letters (tenant_id, stage, reason, payload)"
                    " VALUES ('{t}', 'transform', 'bad order of {t}', '{{}}')",
    "oss_sales": "INSERT INTO oss_sales (tenant_id, year, source_id, net_cents)"
                 " VALUES ('{t}', 2026, 'o1', 100)",
    "extract_cursors": "INSERT INTO extract_cursors (tenant_id, entity, cursor)"
                       " VALUES ('{t}', 'orders', '2026-01-01T00:00:00Z')",
    "extract_hashes": "INSERT INTO extract_hashes (tenant_id, entity, source_id, content_hash)"
                      " VALUES ('{t}', 'order', '1', 'h')",
    "extract_leases": "INSERT INTO extract_leases (tenant_id) VALUES ('{t}') ON CONFLICT DO NOTHING",
    "extract_webhooks": "INSERT INTO extract_webhooks (tenant_id, event, address)"
                        " VALUES ('{t}', 'orders.created', 'https://hooks.invalid/{t}')",
    "extract_hints": "INSERT INTO extract_hints (tenant_id, entity, source_id)"
                     " VALUES ('{t}', 'order', '1')",
    "ledger": "INSERT INTO ledger (tenant_id, kind, source_key) VALUES ('{t}', 'sales_order', 'o1')",
    "exact_budget": "INSERT INTO exact_budget (tenant_id) VALUES ('{t}') ON CONFLICT DO NOTHING",
    "exact_snapshot": "INSERT INTO exact_snapshot (tenant_id, division, kind)"
                      " VALUES ('{t}', 1, 'item')",
    "exact_snapshot_items": "INSERT INTO exact_snapshot_items (tenant_id, division, id, code)"
                            " VALUES ('{t}', 1, 'guid-{t}', 'ART-{t}')",
    "exact_snapshot_accounts": "INSERT INTO exact_snapshot_accounts (tenant_id, division, id)"
                               " VALUES ('{t}', 1, 'guid-{t}')",
    "exact_endpoint_blocks": "INSERT INTO exact_endpoint_blocks (tenant_id, endpoint, errors,"
                             " blocked_until) VALUES ('{t}', 'salesorders', 1, now())",
    "admin_consents": "INSERT INTO admin_consents (tenant_id, state) VALUES ('{t}', 'st-{t}') ON CONFLICT DO NOTHING",
    "panel_users": "INSERT INTO panel_users (name, password_hash, role, tenant_id)"
                   " VALUES ('owner-{t}', 'h', 'owner', '{t}')",
    "vies_consultations": "INSERT INTO vies_consultations (tenant_id, source_id, vat_number,"
                          " outcome) VALUES ('{t}', 'o1', 'NL123456789B01', 'valid')",
    "vies_pending": "INSERT INTO vies_pending (tenant_id, source_id, action, vat_number)"
                    " VALUES ('{t}', 'o1', 'hold', 'NL123456789B01')",
    "loader_fences": "INSERT INTO loader_fences (tenant_id, token) VALUES ('{t}', 1) ON CONFLICT DO NOTHING",
    "extract_watch": "INSERT INTO extract_watch (tenant_id, order_id, created_at)"
                     " VALUES ('{t}', 'o1', now())",
    "panel_notices": "INSERT INTO panel_notices (tenant_id, kind, key) VALUES ('{t}', 'summary',"
                     " '2026-12-02')",
}
# rows that belong to a tenant through another table
INDIRECT = {
    "panel_sessions": ("INSERT INTO panel_sessions (token_hash, user_name, csrf_token, expires_at)"
                       " VALUES ('tok-{t}', 'owner-{t}', 'c', now() + interval '1 day')",
                       "SELECT count(*) FROM panel_sessions WHERE user_name = 'owner-{t}'"),
}


def tenant_tables(dsn):
    out = cxtest.psql(dsn, "SELECT c.table_name FROM information_schema.columns c JOIN"
                           " information_schema.tables t USING (table_schema, table_name)"
                           " WHERE c.table_schema = current_schema() AND c.column_name ="
                           " 'tenant_id' AND t.table_type = 'BASE TABLE' AND c.table_name <>"
                           " 'tenants' ORDER BY 1")
    return out.split("\n") if out else []


class Offboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = al.new_env("t_off")
        cls.dsn = cls.env["CX_PG_DSN"]
        cls.adm = Admin(cls.env)

    def q(self, sql):
        return cxtest.psql(self.dsn, sql)

    def add(self, tenant):
        self.adm.ok("tenants", "add", tenant, "--shop-url", "https://shop.example",
                    "--shop-public-key", "pk-" + tenant, "--shop-secret-file", "-",
                    stdin=al.SHOP_SECRET + "\n")

    def counts(self, tenant):
        c = {t: int(self.q(f"SELECT count(*) FROM {t} WHERE tenant_id = '{tenant}'"))
             for t in tenant_tables(self.dsn)}
        for t, (_, count) in INDIRECT.items():
            c[t] = int(self.q(count.format(t=tenant)))
        c["tenants"] = int(self.q(f"SELECT count(*) FROM tenants WHERE id = '{tenant}'"))
        return c

    def test_every_tenant_table_is_covered(self):
        tables = tenant_tables(self.dsn)
        self.assertEqual(set(tables) - set(ROWS), set(),
                         "tables with a tenant_id column the offboarding test does not fill")
        self.assertEqual(set(ROWS) - set(tables), set(), "tables the schema no longer has")

    def test_delete_removes_every_row_of_one_tenant_only(self):
        gone, kept = "off-gone", "off-kept"
        for t in (gone, kept):
            self.add(t)
            for table in tenant_tables(self.dsn):
                self.q(ROWS[table].format(t=t))
            for insert, _ in INDIRECT.values():
                self.q(insert.format(t=t))
        # a second ledger and sync-log row for the deleted tenant: counts, not just presence
        self.q(f"INSERT INTO ledger (tenant_id, kind, source_key) VALUES ('{gone}', 'account', 'a1')")
        self.q(f"INSERT INTO sync_log (tenant_id, stage, status) VALUES ('{gone}', 'load', 'ok')")
        # the shop.orders topic exists (made by a redrive, as any record would make it)
        topic = self.env["CX_TOPIC_PREFIX"] + "shop.orders"
        dl = self.q("INSERT INTO dead_letters (tenant_id, stage, source_topic, reason, payload)"
                    f" VALUES ('{kept}', 'transform', '{topic}', 'redrive me', '{{\"v\":1}}')"
                    " RETURNING id")
        self.adm.ok("deadletters", "redrive", dl)
        before_gone, before_kept = self.counts(gone), self.counts(kept)
        for table, n in before_gone.items():
            self.assertGreaterEqual(n, 1, f"{table} has no row of {gone} to delete")
            self.assertGreaterEqual(before_kept[table], 1, f"{table} has no row of {kept}")
        self.assertEqual(before_gone["ledger"], 2)

        # enabled: refused, nothing touched
        r = self.adm("tenants", "delete", gone)
        self.assertEqual(r.rc, 3, repr(r))
        self.assertIn("disable it first", r.err)
        self.assertEqual(self.counts(gone), before_gone)
        self.adm.ok("tenants", "disable", gone)
        before_gone = self.counts(gone)  # the audit row of the disable

        # dry run: the same report, nothing deleted
        dry = self.adm.js("tenants", "delete", gone, "--dry-run")
        self.assertTrue(dry["dry_run"])
        self.assertEqual(dry["removed"], before_gone)
        self.assertEqual(self.counts(gone), before_gone)

        rep = self.adm.js("tenants", "delete", gone)
        self.assertEqual(rep["tenant"], gone)
        self.assertFalse(rep["dry_run"])
        self.assertEqual(rep["removed"], before_gone)
        self.assertEqual(rep["rows"], sum(before_gone.values()))
        self.assertEqual(self.counts(gone), {t: 0 for t in before_gone})
        self.assertEqual(self.counts(kept), before_kept)
        self.assertEqual(self.q(f"SELECT shop_public_key FROM tenants WHERE id = '{kept}'"),
                         "pk-" + kept)
        self.assertEqual(self.q(f"SELECT source_key FROM ledger WHERE tenant_id = '{kept}'"), "o1")

        # the topics: keyed by tenant, delete policy, so Kafka removes records only by age
        topics = {t["topic"]: t for t in rep["topics"]}
        self.assertEqual(len(topics), 5, rep["topics"])
        orders = topics[topic]
        self.assertEqual(orders["cleanup_policy"], "delete")
        self.assertRegex(orders["retention_ms"], r"^-?[0-9]+$")
        self.assertFalse(orders["removed"])
        self.assertIn("removed by age only", orders["note"])
        missing = topics[self.env["CX_TOPIC_PREFIX"] + "exact.commands"]
        self.assertIsNone(missing.get("cleanup_policy"))
        self.assertIn("not found", missing["note"])

        # gone now: not found
        self.assertEqual(self.adm("tenants", "delete", gone).rc, 4)
        self.assertEqual(self.adm("tenants", "delete", "Bad Id").rc, 2)

    def test_prune_by_age(self):
        t = "prune-a"
        self.add(t)
        old = "now() - interval '100 days'"
        ids = {}
        for name, sql in {
            "log_old": f"INSERT INTO sync_log (tenant_id, at, stage, status, message) VALUES"
                       f" ('{t}', {old}, 'extract', 'ok', 'old') RETURNING id",
            "log_new": f"INSERT INTO sync_log (tenant_id, at, stage, status, message) VALUES"
                       f" ('{t}', now() - interval '10 days', 'extract', 'ok', 'new') RETURNING id",
            "dl_open_old": f"INSERT INTO dead_letters (tenant_id, stage, reason, payload,"
                           f" created_at) VALUES ('{t}', 'load', 'open old', '{{}}', {old})"
                           " RETURNING id",
            "dl_dropped_old": f"INSERT INTO dead_letters (tenant_id, stage, reason, payload,"
                              f" created_at, state, resolved_at) VALUES ('{t}', 'load',"
                              f" 'dropped old', '{{}}', {old}, 'dropped', {old}) RETURNING id",
            "dl_redriven_old": f"INSERT INTO dead_letters (tenant_id, stage, reason, payload,"
                               f" created_at, state, resolved_at) VALUES ('{t}', 'load',"
                               f" 'redriven old', '{{}}', {old}, 'redriven', {old}) RETURNING id",
            "dl_dropped_recent": f"INSERT INTO dead_letters (tenant_id, stage, reason, payload,"
                                 f" created_at, state, resolved_at) VALUES ('{t}', 'load',"
                                 f" 'dropped recently', '{{}}', {old}, 'dropped',"
                                 " now() - interval '5 days') RETURNING id",
        }.items():
            ids[name] = self.q(sql)
        # more old entries than one batch (common/retention.h: 5,000) of another tenant
        self.q("INSERT INTO sync_log (tenant_id, at, stage, status, message) SELECT 'prune-b',"
               f" {old} - g * interval '1 minute', 'load', 'ok', 'bulk' FROM"
               " generate_series(1, 12001) g")

        def log_ids():
            return set(self.q(f"SELECT id FROM sync_log WHERE tenant_id = '{t}'").split())

        def dl_ids():
            return set(self.q(f"SELECT id FROM dead_letters WHERE tenant_id = '{t}'").split())

        all_logs, all_dls = log_ids(), dl_ids()
        # 0 days (the environment's setting here): keep forever
        keep = self.adm.js("prune", env={"CX_RETENTION_SYNC_LOG_DAYS": "0",
                                         "CX_RETENTION_DEAD_LETTER_DAYS": "0"})
        self.assertEqual((keep["sync_log"], keep["dead_letters"]), (0, 0))
        dry = self.adm.js("prune", "--sync-log-days", "30", "--dead-letter-days", "30",
                          "--dry-run")
        self.assertEqual((dry["sync_log"], dry["dead_letters"], dry["dry_run"]),
                         (12002, 2, True))
        self.assertEqual((log_ids(), dl_ids()), (all_logs, all_dls))

        rep = self.adm.js("prune", "--sync-log-days", "30", "--dead-letter-days", "30")
        self.assertEqual((rep["sync_log"], rep["dead_letters"], rep["dry_run"], rep["busy"]),
                         (12002, 2, False, False))
        self.assertEqual(log_ids(), all_logs - {ids["log_old"]})
        self.assertIn(ids["log_new"], log_ids())
        self.assertEqual(dl_ids(), {ids["dl_open_old"], ids["dl_dropped_recent"]})
        self.assertEqual(self.q(f"SELECT state FROM dead_letters WHERE id = {ids['dl_open_old']}"),
                         "open")
        self.assertEqual(self.q("SELECT count(*) FROM sync_log WHERE tenant_id = 'prune-b'"), "0")
        # the default settings (90 days) from the environment; nothing left that old
        again = self.adm.js("prune")
        self.assertEqual((again["sync_log"], again["dead_letters"], again["sync_log_days"]),
                         (0, 0, 90))
        self.assertEqual(self.adm("prune", "--sync-log-days", "-1").rc, 2)

    def test_ledger_doubt_after_a_restore(self):
        t = "restored"
        self.add(t)
        self.q("INSERT INTO ledger (tenant_id, kind, source_key, state, exact_guid) VALUES"
               f" ('{t}', 'sales_order', '1001', 'done', 'guid-1001')")
        rep = self.adm.js("ledger", "doubt", t, stdin="1001\n1002\n\n  1003 \n1002\n")
        self.assertEqual(rep, {"tenant": t, "kind": "sales_order", "marked": 2, "known": 2})
        rows = self.q("SELECT source_key, state, exact_guid IS NULL, intent_at IS NOT NULL,"
                      f" write_until IS NOT NULL FROM ledger WHERE tenant_id = '{t}' ORDER BY 1")
        self.assertEqual(rows.split("\n"), ["1001|done|f|f|f", "1002|pending|t|t|t",
                                             "1003|pending|t|t|t"])
        inv = self.adm.js("ledger", "doubt", t, "--kind", "sales_invoice", stdin="2001\n")
        self.assertEqual((inv["kind"], inv["marked"]), ("sales_invoice", 1))
        self.assertIn("marked in doubt", self.q(f"SELECT message FROM sync_log WHERE tenant_id ="
                                                f" '{t}' AND stage = 'admin' ORDER BY id DESC"
                                                " LIMIT 1"))
        # refused, nothing written
        r = self.adm("ledger", "doubt", t, stdin="3001\nWEB-3002\n")
        self.assertEqual(r.rc, 2, repr(r))
        self.assertIn("WEB-3002", r.err)
        self.assertEqual(self.q(f"SELECT count(*) FROM ledger WHERE source_key = '3001'"), "0")
        self.assertEqual(self.adm("ledger", "doubt", t, "--kind", "item", stdin="1\n").rc, 2)
        self.assertEqual(self.adm("ledger", "doubt", "nobody", stdin="1\n").rc, 4)

    def daemon(self, program, **env):
        exe = os.path.join(al.BUILD, program, program)
        base = {"CX_PG_DSN": self.dsn, "CX_KAFKA_BROKERS": self.env["CX_KAFKA_BROKERS"],
                "CX_TOPIC_PREFIX": self.env["CX_TOPIC_PREFIX"]}
        d = cxtest.Daemon(exe, {**base, **env}).start()
        self.addCleanup(d.kill)
        d.wait_ready(90)
        return d

    def test_transformer_prunes_in_its_housekeeping(self):
        t = "prune-t"
        old = "now() - interval '40 days'"
        log_old = self.q("INSERT INTO sync_log (tenant_id, at, stage, status, message) VALUES"
                         f" ('{t}', {old}, 'load', 'ok', 'old') RETURNING id")
        log_new = self.q("INSERT INTO sync_log (tenant_id, at, stage, status, message) VALUES"
                         f" ('{t}', now() - interval '20 days', 'load', 'ok', 'new') RETURNING id")
        dl_old = self.q("INSERT INTO dead_letters (tenant_id, stage, reason, payload, state,"
                        f" resolved_at) VALUES ('{t}', 'load', 'old', '{{}}', 'dropped', {old})"
                        " RETURNING id")
        dl_open = self.q("INSERT INTO dead_letters (tenant_id, stage, reason, payload,"
                         f" created_at) VALUES ('{t}', 'load', 'open', '{{}}', {old}) RETURNING id")
        d = self.daemon("transformer", CX_RETENTION_SYNC_LOG_DAYS="30",
                        CX_RETENTION_DEAD_LETTER_DAYS="30")
        deadline = time.time() + 60
        while time.time() < deadline and self.q(f"SELECT count(*) FROM sync_log WHERE id = {log_old}") != "0":
            time.sleep(0.5)
        self.assertEqual(self.q(f"SELECT id FROM sync_log WHERE tenant_id = '{t}'"), log_new)
        self.assertEqual(self.q(f"SELECT id FROM dead_letters WHERE tenant_id = '{t}'"), dl_open)
        self.assertEqual(d.stop(), 0, d.output())
        pruned = [e for e in d.log_events() if e["event"] == "retention.pruned"]
        self.assertEqual(len(pruned), 1, d.output())
        self.assertGreaterEqual(pruned[0]["sync_log"], 1)
        self.assertGreaterEqual(pruned[0]["dead_letters"], 1)
        self.assertEqual(self.q(f"SELECT count(*) FROM dead_letters WHERE id = {dl_old}"), "0")

    def test_loader_reports_tenant_gauges(self):
        t = "gauge-a"
        self.add(t)
        for _ in range(3):
            self.q("INSERT INTO dead_letters (tenant_id, stage, reason, payload) VALUES"
                   f" ('{t}', 'load', 'open ' || random(), '{{}}')")
        self.q("INSERT INTO sync_log (tenant_id, at, stage, status, message) VALUES"
               f" ('{t}', now() - interval '2 hours', 'load', 'ok', 'booked')")
        self.q("UPDATE exact_tokens SET state = 'ok', refreshed_at = now() - interval '1 day'"
               f" WHERE tenant_id = '{t}'")
        d = self.daemon("loader")
        lab = f'{{tenant="{t}"}}'

        def gauge(body, name):
            m = re.search(rf"^{name}{re.escape(lab)} (\S+)$", body, re.M)
            return float(m.group(1)) if m else None

        deadline, body = time.time() + 30, ""
        while time.time() < deadline and gauge(body, "cx_tenant_token_ok") is None:
            time.sleep(0.5)
            body = cxtest.http("GET", d.metrics_url())[1]
        self.assertEqual(gauge(body, "cx_tenant_dead_letters_open"), 3)
        self.assertEqual(gauge(body, "cx_tenant_token_ok"), 1)
        self.assertAlmostEqual(gauge(body, "cx_tenant_refresh_token_age_seconds"), 86400,
                               delta=120)
        self.assertAlmostEqual(gauge(body, "cx_tenant_last_booking_age_seconds"), 7200,
                               delta=120)
        # deleted: its series go at the next sweep (once a minute)
        self.adm.ok("tenants", "disable", t)
        self.adm.ok("tenants", "delete", t)
        deadline = time.time() + 90
        while time.time() < deadline and f'tenant="{t}"' in body:
            time.sleep(1)
            body = cxtest.http("GET", d.metrics_url())[1]
        self.assertNotIn(f'tenant="{t}"', body)
        self.assertIn("cx_ready 1", body)
        self.assertEqual(d.stop(), 0, d.output())


if __name__ == "__main__":
    unittest.main(verbosity=2)
