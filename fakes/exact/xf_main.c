/*
 * fakes/exact/xf_main.c — command line of exact-fake. Parses options, starts the
 * server, prints {"listen":"http://HOST:PORT"} on stdout and waits for SIGTERM/SIGINT.
 */
#include "xf.h"
#include "xf_server.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

static void usage(FILE *f)
{
        fprintf(f,
                "usage: exact-fake [--listen ADDR:PORT] [--client ID:SECRET]...\n"
                "  [--token-ttl S] [--refresh-ttl S] [--minute S] [--minutely-limit N]\n"
                "  [--daily-limit N] [--day-start epoch|now] [--default-division N] [--token-daily-cap N]\n"
                "  [--error-limit N] [--error-limit-status 429|403] [--validation-status N]\n"
                "  [--max-body BYTES] [--seed N] [--threads N] [--no-limits]\n"
                "  [--revoke-old-access] [--single-token-set] [--bare-array-on-top]\n");
}

static int num_long(const char *s, long min, long max, long *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
                return -1;
        *ret = v;
        return 0;
}

static int num_double(const char *s, double min, double max, double *ret)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
                return -1;
        *ret = v;
        return 0;
}

static int add_client(struct xf_config *cfg, const char *spec)
{
        const char *colon = strchr(spec, ':');
        char **ids, **secrets;

        if (colon == NULL || colon == spec || colon[1] == '\0')
                return -1;
        ids = realloc(cfg->client_ids, (cfg->n_clients + 1) * sizeof(char *));
        if (ids == NULL)
                return -1;
        cfg->client_ids = ids;
        secrets = realloc(cfg->client_secrets, (cfg->n_clients + 1) * sizeof(char *));
        if (secrets == NULL)
                return -1;
        cfg->client_secrets = secrets;
        cfg->client_ids[cfg->n_clients] = strndup(spec, (size_t)(colon - spec));
        cfg->client_secrets[cfg->n_clients] = strdup(colon + 1);
        cfg->n_clients++;
        return 0;
}

int main(int argc, char **argv)
{
        enum {
                O_LISTEN = 1000,
                O_CLIENT,
                O_TTL,
                O_RTTL,
                O_MINUTE,
                O_MINUTELY,
                O_DAILY,
                O_DIV,
                O_CAP,
                O_NOLIMITS,
                O_SEED,
                O_ERRLIM,
                O_ERRSTAT,
                O_VALSTAT,
                O_MAXBODY,
                O_REVOKE,
                O_SINGLE,
                O_BARE,
                O_THREADS,
                O_DAYSTART,
                O_HELP
        };
        static const struct option opts[] = {
                { "listen", required_argument, NULL, O_LISTEN },
                { "client", required_argument, NULL, O_CLIENT },
                { "token-ttl", required_argument, NULL, O_TTL },
                { "refresh-ttl", required_argument, NULL, O_RTTL },
                { "minute", required_argument, NULL, O_MINUTE },
                { "minutely-limit", required_argument, NULL, O_MINUTELY },
                { "daily-limit", required_argument, NULL, O_DAILY },
                { "day-start", required_argument, NULL, O_DAYSTART },
                { "default-division", required_argument, NULL, O_DIV },
                { "token-daily-cap", required_argument, NULL, O_CAP },
                { "no-limits", no_argument, NULL, O_NOLIMITS },
                { "seed", required_argument, NULL, O_SEED },
                { "error-limit", required_argument, NULL, O_ERRLIM },
                { "error-limit-status", required_argument, NULL, O_ERRSTAT },
                { "validation-status", required_argument, NULL, O_VALSTAT },
                { "max-body", required_argument, NULL, O_MAXBODY },
                { "revoke-old-access", no_argument, NULL, O_REVOKE },
                { "single-token-set", no_argument, NULL, O_SINGLE },
                { "bare-array-on-top", no_argument, NULL, O_BARE },
                { "threads", required_argument, NULL, O_THREADS },
                { "help", no_argument, NULL, O_HELP },
                { NULL, 0, NULL, 0 },
        };
        struct xf_config cfg = {
                .listen = "127.0.0.1:0",
                .token_ttl = 600,
                .refresh_ttl = 30.0 * 86400,
                .minute_s = 60,
                .minutely_limit = 60,
                .daily_limit = 5000,
                .default_division = 123456,
                .token_daily_cap = 200,
                .error_limit = 10,
                .error_limit_status = 429,
                .validation_status = 400,
                .max_body = 1024 * 1024,
                .threads = 4,
        };
        struct xf_server *srv = NULL;
        sigset_t set;
        int sig = 0, c, rc = 1;
        long lv;
        size_t i;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                int bad = 0;

                switch (c) {
                case O_LISTEN: cfg.listen = optarg; break;
                case O_CLIENT: bad = add_client(&cfg, optarg); break;
                case O_TTL: bad = num_double(optarg, 1, 1e9, &cfg.token_ttl); break;
                case O_RTTL: bad = num_double(optarg, 1, 1e10, &cfg.refresh_ttl); break;
                case O_MINUTE: bad = num_double(optarg, 0.01, 86400, &cfg.minute_s); break;
                case O_MINUTELY: bad = num_long(optarg, 1, 100000000, &cfg.minutely_limit); break;
                case O_DAILY: bad = num_long(optarg, 1, 1000000000, &cfg.daily_limit); break;
                case O_DAYSTART:
                        /* "now": compressed days start with the fake, so a test never
                         * crosses a day boundary by where the wall clock happens to fall. */
                        if (strcmp(optarg, "now") == 0)
                                cfg.day_start_now = true;
                        else
                                bad = strcmp(optarg, "epoch") != 0 ? -1 : 0;
                        break;
                case O_DIV: bad = num_long(optarg, 1, 2147483647L, &cfg.default_division); break;
                case O_CAP: bad = num_long(optarg, 0, 1000000000, &cfg.token_daily_cap); break;
                case O_NOLIMITS: cfg.no_limits = true; break;
                case O_SEED:
                        bad = num_long(optarg, 0, 2147483647L, &lv);
                        cfg.have_seed = true;
                        cfg.seed = (uint64_t)lv;
                        break;
                case O_ERRLIM: bad = num_long(optarg, 0, 100000, &cfg.error_limit); break;
                case O_ERRSTAT:
                        bad = num_long(optarg, 400, 599, &lv);
                        cfg.error_limit_status = (int)lv;
                        break;
                case O_VALSTAT:
                        bad = num_long(optarg, 400, 599, &lv);
                        cfg.validation_status = (int)lv;
                        break;
                case O_MAXBODY:
                        bad = num_long(optarg, 1, 256L * 1024 * 1024, &lv);
                        cfg.max_body = (size_t)lv;
                        break;
                case O_REVOKE: cfg.revoke_old_access = true; break;
                case O_SINGLE: cfg.single_token_set = true; break;
                case O_BARE: cfg.bare_array_top = true; break;
                case O_THREADS:
                        bad = num_long(optarg, 0, 64, &lv);
                        cfg.threads = (unsigned)lv;
                        break;
                case O_HELP: usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
                if (bad) {
                        fprintf(stderr, "exact-fake: bad value for option: %s\n", optarg);
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                usage(stderr);
                return 2;
        }
        if (cfg.n_clients == 0 && add_client(&cfg, "exact-fake-client:exact-fake-secret") != 0)
                return 1;
        if (cfg.have_seed) {
                xf_rng_seed(cfg.seed);
        } else {
                uint64_t seed = 0;

                if (RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1)
                        seed = (uint64_t)xf_now_ms();
                xf_rng_seed(seed);
        }

        /* block the stop signals before MHD starts its threads, then wait for them here */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);

        srv = xf_server_start(&cfg);
        if (srv == NULL)
                goto out;
        {
                char host[64];
                const char *colon = strrchr(cfg.listen, ':');
                size_t n = (size_t)(colon - cfg.listen);

                snprintf(host, sizeof(host), "%.*s", (int)n, cfg.listen);
                if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "localhost") == 0)
                        snprintf(host, sizeof(host), "127.0.0.1");
                printf("{\"listen\":\"http://%s:%u\"}\n", host, xf_server_port(srv));
                fflush(stdout);
        }
        if (sigwait(&set, &sig) != 0)
                sig = 0;
        fprintf(stderr, "exact-fake: stopping on signal %d\n", sig);
        rc = 0;
out:
        xf_server_stop(srv);
        for (i = 0; i < cfg.n_clients; i++) {
                free(cfg.client_ids[i]);
                free(cfg.client_secrets[i]);
        }
        free(cfg.client_ids);
        free(cfg.client_secrets);
        return rc;
}
