#!/usr/bin/env python3
"""Write docs/configuration.md from every program's --config-reference, so the reference is
the programs' own tables and cannot drift.

    tests/gen-config-doc.py BUILD_DIR            rewrite docs/configuration.md
    tests/gen-config-doc.py BUILD_DIR --check    exit 1 (with a diff) when it is out of date
"""
import difflib
import os
import subprocess
import sys

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(SOURCE, "docs", "configuration.md")
PROGRAMS = [("extractor", "extractor/extractor"), ("transformer", "transformer/transformer"),
            ("loader", "loader/loader"), ("panel", "panel/panel"),
            ("connector-admin", "admin/connector-admin")]

HEADER = """# Configuration reference

Every program reads its configuration from `CX_*` environment variables, one table per
program (`common/config.h`). A variable that is misspelt, out of range or of the wrong type
stops the program at start with one line naming it (exit status 2); so does any `CX_*`
variable the program does not read, which is why each compose service is given only its own
variables (`compose/docker-compose.yml`). Variables marked secret are never printed or logged.
Every secret variable `NAME` also accepts `NAME_FILE`: the path of a file that holds the
value (docker secrets, a mounted secret volume), read at start without its trailing line
break; setting both is an error.

This page is generated from the programs themselves (`PROGRAM --config-reference`) by
`tests/gen-config-doc.py BUILD_DIR`; a test fails when it differs from what the binaries
print. Do not edit it by hand: change the program's table and run the script.

## Kafka client properties (TLS, SASL)

Every program that talks to Kafka (the three daemons, the panel and `connector-admin`'s
replay and redrive) also takes librdkafka client properties from the environment, for a
managed Kafka that needs TLS or SASL. `CX_KAFKA_PROPERTY_<NAME>=VALUE` sets the property on
every Kafka client the program makes. `<NAME>` is the property's name in capitals with each
`.` written `_` and each `_` written `__`, so the mapping runs both ways without doubt:

| variable | librdkafka property |
|---|---|
| `CX_KAFKA_PROPERTY_SECURITY_PROTOCOL=SASL_SSL` | `security.protocol` |
| `CX_KAFKA_PROPERTY_SASL_MECHANISM=SCRAM-SHA-512` | `sasl.mechanism` |
| `CX_KAFKA_PROPERTY_SASL_USERNAME=connector` | `sasl.username` |
| `CX_KAFKA_PROPERTY_SASL_PASSWORD_FILE=/run/secrets/kafka_password` | `sasl.password`, read from the file |
| `CX_KAFKA_PROPERTY_SSL_CA_LOCATION=/etc/kafka/ca.pem` | `ssl.ca.location` |
| `CX_KAFKA_PROPERTY_LOG__LEVEL=3` | `log_level` |

`CX_KAFKA_PROPERTY_<NAME>_FILE=PATH` reads the value from a file (its last newline dropped),
for docker secrets and mounted Kubernetes secrets; setting both forms is an error. Each
property is checked against librdkafka at start: an unknown name or a value librdkafka
refuses stops the program with one line naming the variable (exit status 2). The
properties the connector sets for its guarantees are refused (`bootstrap.servers`: use
`CX_KAFKA_BROKERS`; `group.id`, `transactional.id`, `enable.idempotence`, `acks`,
`isolation.level`, `enable.auto.commit`, `enable.auto.offset.store`,
`auto.offset.reset`); any other one (`linger.ms`, `client.id`, ...) overrides the
connector's default. The properties in force are logged once at start (`kafka.properties`)
with the values of passwords, secrets and private keys (`sasl.password`,
`ssl.key.password`, `ssl.keystore.password`, `ssl.key.pem`,
`sasl.oauthbearer.client.secret`, `sasl.oauthbearer.config`) shown as `***` and redacted
from every other log line. Wrong credentials are logged as `kafka.auth_failed`, and a
daemon that cannot authenticate within `CX_STARTUP_TIMEOUT` stops with
`startup.kafka_auth`.

"""


def render(build):
    parts = [HEADER]
    for name, rel in PROGRAMS:
        exe = os.path.join(build, rel)
        if not os.path.exists(exe):
            sys.exit(f"{exe} is missing: build first (ninja -C {build})")
        out = subprocess.run([exe, "--config-reference"], stdout=subprocess.PIPE, text=True,
                             check=True, timeout=30).stdout
        if not out.startswith("## "):
            sys.exit(f"{name} --config-reference printed no reference")
        parts.append(out.rstrip("\n") + "\n\n")
    return "".join(parts).rstrip("\n") + "\n"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    text = render(sys.argv[1])
    if "--check" in sys.argv[2:]:
        with open(DOC, encoding="utf-8") as f:
            current = f.read()
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), "docs/configuration.md",
                "generated"))
            print("docs/configuration.md is out of date: run tests/gen-config-doc.py BUILD_DIR",
                  file=sys.stderr)
            return 1
        return 0
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
