/* daemon: the Kafka/PostgreSQL transformer loop (placeholder until the lead's version lands). */
#ifndef TRANSFORMER_DAEMON_H
#define TRANSFORMER_DAEMON_H

/* Runs the daemon with the command line main() received; returns the exit status. */
int transformer_daemon_main(int argc, char **argv);

#endif
