/* signals.h: SIGTERM/SIGINT ask the daemon to drain and exit; a second one exits at once.
 * SIGPIPE is ignored so a closed socket is an error return, not a death. */
#ifndef CX_SIGNALS_H
#define CX_SIGNALS_H

#include <stdbool.h>

/** @brief Install the handlers. Call once, early in main(). */
void cx_signals_install(void);

/** @brief false once a stop was requested. */
bool cx_running(void);

/** @brief Ask the process to stop, as a signal would (used by tests and fatal errors). */
void cx_request_stop(void);

#endif
