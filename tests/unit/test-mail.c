/* Mail: what cx_mail_send refuses before any connection (no server, header injection through
 * an address or the subject, a sender that is no address), and that an unreachable server is
 * a retriable error within the timeout, not a hang. Delivery itself: test_panel_users.py. */
#include <curl/curl.h>
#include <time.h>

#include "common/mail.h"
#include "tests/testlib.h"

static void test_mail_refusals(void)
{
        cx_mail_cfg none = { .url = "", .from = "a@b.test", .timeout_ms = 1000 };
        cx_mail_cfg cfg = { .url = "smtp://127.0.0.1:1",
                            .from = "paneel@b.test",
                            .timeout_ms = 2000 };
        cx_mail_cfg bad_from = cfg;
        cx_err err = { 0 };

        T_EQ_INT(cx_mail_configured(&none), 0);
        T_EQ_INT(cx_mail_send(&none, "x@y.test", "s", "t", &err), -1);
        T_EQ_INT(err.code, CX_ERR_CONFIG);
        T_CONTAINS(err.msg, "CX_SMTP_URL");
        T_EQ_INT(cx_mail_send(&cfg, "x@y.test\r\nBcc: z@y.test", "s", "t", &err), -1);
        T_EQ_INT(err.code, CX_ERR_PARSE);
        T_EQ_INT(cx_mail_send(&cfg, "<x@y.test>", "s", "t", &err), -1);
        T_EQ_INT(err.code, CX_ERR_PARSE);
        T_EQ_INT(cx_mail_send(&cfg, "nobody", "s", "t", &err), -1);
        T_EQ_INT(err.code, CX_ERR_PARSE);
        T_EQ_INT(cx_mail_send(&cfg, "x@y.test", "s\r\nBcc: z@y.test", "t", &err), -1);
        T_EQ_INT(err.code, CX_ERR_PARSE);
        T_CONTAINS(err.msg, "one line");
        bad_from.from = "paneel";
        T_EQ_INT(cx_mail_send(&bad_from, "x@y.test", "s", "t", &err), -1);
        T_EQ_INT(err.code, CX_ERR_CONFIG);
        T_CONTAINS(err.msg, "CX_SMTP_FROM");
}

static void test_mail_unreachable_is_retriable(void)
{
        cx_mail_cfg cfg = { .url = "smtp://127.0.0.1:1",
                            .from = "paneel@b.test",
                            .timeout_ms = 2000 };
        cx_err err = { 0 };
        time_t t0 = time(NULL);

        T_EQ_INT(
                cx_mail_send(&cfg, "x@y.test", "Nieuw wachtwoord – één link", "t\n.\nmore\n", &err),
                -1);
        T_EQ_INT(err.code, CX_ERR_HTTP);
        T_EQ_INT(err.retriable, 1);
        T_CONTAINS(err.msg, "mail to x@y.test not sent");
        T_ASSERT(time(NULL) - t0 <= 5, "took %lld s", (long long)(time(NULL) - t0));
}

int main(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
        T_RUN(test_mail_refusals);
        T_RUN(test_mail_unreachable_is_retriable);
        curl_global_cleanup();
        return t_done();
}
