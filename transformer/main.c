/* transformer: --dry-run over stdin/stdout, otherwise the daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "booking/dryrun.h"
#include "common/config.h"
#include "transformer/daemon.h"
#include "vat/vat_rates.h"

static void usage(FILE *f)
{
        fprintf(f,
                "usage: transformer --dry-run --rules FILE   < orders.jsonl > bookings.jsonl\n"
                "       transformer [daemon options]\n"
                "\n"
                "--dry-run      read CCV order documents (one JSON object per line, with the\n"
                "               order rows in \"orderrows\") from stdin and print for each line\n"
                "               the Exact booking or the rejection; no Kafka, no database, no\n"
                "               network\n"
                "--rules FILE   tenant rules file (JSON; see docs/vat-engine.md)\n"
                "--vies FILE    VIES answers to use, instead of asking VIES: a JSON object\n"
                "               {\"DE136695976\": {\"outcome\": \"valid\", \"consultation\": \"...\",\n"
                "               \"date\": \"...\"}} (outcome valid, invalid or unavailable); a\n"
                "               number not in it is not_checked (see docs/vat-engine.md \"VIES\")\n"
                "--vat-rates FILE  EU VAT rates file replacing the compiled-in table\n"
                "               (default: $CX_TRANSFORMER_VAT_RATES_FILE, as the daemon)\n"
                "--help         this text\n"
                "\n"
                "Without --dry-run the transformer runs as a daemon (Kafka in, Kafka out).\n");
}

extern char **environ;

int main(int argc, char **argv)
{
        const char *rules_path = NULL, *vies_path = NULL;
        /* the dry run reads no table, only this one variable, through the config module */
        const char *rates = cx_config_lookup(environ, "CX_TRANSFORMER_VAT_RATES_FILE");
        char err[512];
        int dry = 0;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                        usage(stdout);
                        return 0;
                }
                if (!strcmp(argv[i], "--dry-run"))
                        dry = 1;
                else if (!strcmp(argv[i], "--rules") && i + 1 < argc)
                        rules_path = argv[++i];
                else if (!strncmp(argv[i], "--rules=", 8))
                        rules_path = argv[i] + 8;
                else if (!strcmp(argv[i], "--vies") && i + 1 < argc)
                        vies_path = argv[++i];
                else if (!strcmp(argv[i], "--vat-rates") && i + 1 < argc)
                        rates = argv[++i];
        }
        if (!dry)
                return transformer_daemon_main(argc, argv);
        if (!rules_path) {
                fprintf(stderr, "transformer: --dry-run needs --rules FILE\n");
                usage(stderr);
                return 2;
        }
        if (rates && *rates && vat_rates_load_file(rates, err, sizeof(err)) != 0) {
                fprintf(stderr, "transformer: %s\n", err);
                return 1;
        }
        return dryrun_run(stdin, stdout, rules_path, vies_path);
}
