#!/usr/bin/env python3
"""What a restore of PostgreSQL to an earlier point means for exactly-once (docs/runbook.md,
"Back up and restore PostgreSQL"), against the real loader, broker, PostgreSQL and exact-fake:
the ledger forgets the documents booked after the restore point; when their commands come
again (the extractor re-reads from its restored cursor), a forgotten document is posted a
second time, unless `connector-admin ledger doubt` made it a write in doubt first, in which
case the loader finds it by YourRef and posts nothing."""
import json
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "loader"))
import loaderlib as L  # noqa: E402


class Restore(L.LoaderCase):
    def test_forgotten_documents_are_looked_up_once_marked_in_doubt(self):
        rng = random.Random(L.random_seed())
        self.fake = L.Fake("--minute", "2", "--minutely-limit", "1000")
        env = L.new_env("t_restore")
        tenants = L.add_tenants(env, self.fake, 1)
        (t, div), = tenants.items()
        cmds = [L.order_command(t, i, rng) for i in range(8)]
        L.produce(env, [(t, json.dumps(c)) for c in cmds])
        self.loaders = L.start_loaders(env, 1)
        dsn = env["CX_PG_DSN"]

        def done(n):
            return int(L.psql(dsn, "SELECT count(*) FROM ledger WHERE kind = 'sales_order'"
                                   " AND state = 'done'")) >= n
        self.assertTrue(L.wait_until(lambda: done(8), 120), self.logs_of_failure())
        self.assertEqual(self.loaders[0].stop(timeout=30), 0)
        refs = sorted(d["YourRef"] for d in L.booked(self.fake, div))
        self.assertEqual(refs, sorted(c["body"]["YourRef"] for c in cmds))

        # "restore" to a point before orders 4..7 were booked: their document rows are gone
        # (accounts and items too: those are always looked up)
        L.psql(dsn, "DELETE FROM ledger WHERE kind <> 'sales_order' OR source_key::int >= 4")
        doubt = L.run_admin_cli(env, "--json", "ledger", "doubt", t, stdin="4\n5\n6\n")
        self.assertEqual(json.loads(doubt)["marked"], 3)
        # the same commands again, as the re-extraction since the restore point makes them
        L.produce(env, [(t, json.dumps(c)) for c in cmds[4:]])
        self.loaders = L.start_loaders(env, 1)
        self.assertTrue(L.wait_until(lambda: done(8), 120), self.logs_of_failure())
        self.assertEqual(self.loaders[0].stop(timeout=30), 0)

        docs = L.booked(self.fake, div)
        count = {}
        for d in docs:
            count[d["YourRef"]] = count.get(d["YourRef"], 0) + 1
        # marked in doubt: found by YourRef, recorded with the GUID Exact has, not posted again
        for n in (4, 5, 6):
            ref = cmds[n]["body"]["YourRef"]
            self.assertEqual(count[ref], 1, f"{ref} was posted again")
            guid = L.psql(dsn, "SELECT exact_guid FROM ledger WHERE kind = 'sales_order' AND"
                               f" source_key = '{n}'").strip()
            self.assertEqual(guid, next(d["OrderID"] for d in docs if d["YourRef"] == ref))
        # not marked: posted a second time, the case the runbook warns about
        self.assertEqual(count[cmds[7]["body"]["YourRef"]], 2)
        for n in (0, 1, 2, 3):
            self.assertEqual(count[cmds[n]["body"]["YourRef"]], 1)
        # accounts and items were looked up, not created again
        for et in ("Accounts", "Items"):
            codes = [e["Code"] for e in self.fake.entities(div, et)]
            self.assertEqual(len(codes), len(set(codes)), f"duplicate in {et}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
