/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `trocd run`: opens the ledger, serves it until SIGINT, SIGTERM or
 * SIGHUP, and exits 0 once every request already read is committed and
 * answered and every handle is closed.  The work is the server's (engine/server); this
 * is argument parsing, the optional port file and exit statuses.
 *
 * Opening the ledger checks it cheaply (engine/ledger/start_check.c); a
 * ledger it finds damaged is refused like one it cannot read, with what
 * was found, pointing to `trocd verify` and to the restore steps, before
 * anything is written.
 *
 * The port file holds the TCP port actually bound, written once the server
 * listens (to a temporary name, then renamed, so that a reader never sees
 * half of it): with --listen HOST:0 a supervisor or a test learns which free
 * port the kernel chose.  It is written before the server says it listens
 * and serves: one that cannot be written fails the start (exit 1), since a
 * supervisor waiting for it would wait for ever, and the server closes
 * without claiming its addresses.  It is removed at exit, unless another
 * daemon given the same file has written its own there since.
 *
 * The server raises the soft descriptor limit (RLIMIT_NOFILE) as far as
 * TROC_CONNECTIONS_MAX connections need and the hard limit allows: the
 * usual soft limit of 1024 is below that, and a daemon out of descriptors
 * cannot even tell a newcomer it is busy.
 *
 * --clear-every DURATION runs a clearing round of plain set-off that often
 * (engine/server/clearing.c); DURATION is a whole number and one unit, s,
 * m, h or d ("30s", "15m", "1h", "1d"), within the bounds of limits.h.
 *
 * --map-size BYTES sets the LMDB map the ledger opens with (a number of
 * bytes, or of KiB, MiB or GiB with K, M or G), within
 * TROC_LEDGER_MAP_SIZE_MIN..MAX.  It is only the initial size: a full map
 * still grows while the disk has room, and a data file larger than the
 * size given opens with a map that holds it.  Tests use a small one to
 * reach MDB_MAP_FULL quickly.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/limits.h"
#include "base/text.h"
#include "ledger/ledger.h"
#include "server/log.h"
#include "server/server.h"
#include "trocd.h"

#define RUN_DEFAULT_LISTEN "127.0.0.1:7400"

typedef struct run_options {
    const char *data;
    const char *listen;
    const char *socket_path;
    const char *port_file;
    const char *clear_every;               /* as given, for messages */
    uint64_t clear_every_ms;               /* 0: no timed rounds */
    const char *map_size;                  /* as given, for messages */
    uint64_t map_size_bytes;               /* 0: the ledger's own policy */
} run_options;

static void run_usage(FILE *out) {
    fputs("usage: trocd run --data DIR [--listen HOST:PORT|none] [--socket PATH] [--port-file FILE]\n"
          "                 [--clear-every DURATION] [--map-size BYTES]\n"
          "\n"
          "Serves the territory's ledger in DIR until SIGINT, SIGTERM or SIGHUP, then\n"
          "answers what it has read, closes every connection and exits 0.  Logs one\n"
          "line per event on stderr.\n"
          "\n"
          "  --data DIR          the ledger directory made by `trocd init`\n"
          "  --listen HOST:PORT  TCP address, HOST numeric (default " RUN_DEFAULT_LISTEN "); port 0\n"
          "                      picks a free port (logged, and written to --port-file); `none`: no TCP\n"
          "  --socket PATH       also listen on a Unix socket (mode 0660), same protocol\n"
          "  --port-file FILE    write the bound TCP port to FILE once listening\n"
          "  --clear-every DURATION\n"
          "                      run a clearing round (plain set-off) this often: a whole\n"
          "                      number and a unit, s m h or d (30s, 15m, 1h, 1d), from 1s\n"
          "                      to 366d; a tick is skipped while the last timed round\n"
          "                      is still waiting or running\n"
          "  --map-size BYTES    initial size of the ledger's LMDB map (default 1G, or what\n"
          "                      the data file needs); K, M, G for KiB, MiB, GiB; from 1M.\n"
          "                      A full map grows while the disk has room\n",
          out);
}

/* "30s", "15m", "1h", "1d" into milliseconds; -EINVAL for anything else or
 * a duration outside TROC_CLEAR_EVERY_SECONDS_MIN..MAX. */
static int run_parse_duration(const char *text, uint64_t *ms_out) {
    size_t digits = strspn(text, "0123456789");
    if (digits == 0 || digits > 9 || text[digits] == '\0' || text[digits + 1] != '\0') return -EINVAL;
    uint64_t value = strtoull(text, NULL, 10), unit_seconds = 0;
    switch (text[digits]) {
    case 's': unit_seconds = 1; break;
    case 'm': unit_seconds = 60; break;
    case 'h': unit_seconds = 3600; break;
    case 'd': unit_seconds = 86400; break;
    default: return -EINVAL;
    }
    uint64_t seconds = value * unit_seconds;
    if (seconds < TROC_CLEAR_EVERY_SECONDS_MIN || seconds > TROC_CLEAR_EVERY_SECONDS_MAX) return -EINVAL;
    *ms_out = seconds * 1000;
    return 0;
}

/* "1048576", "64K", "16M", "2G" into bytes, rounded up to whole pages;
 * -EINVAL for anything else or a size outside TROC_LEDGER_MAP_SIZE_MIN..MAX. */
static int run_parse_size(const char *text, uint64_t *bytes_out) {
    size_t digits = strspn(text, "0123456789");
    if (digits == 0 || digits > 15) return -EINVAL;
    uint64_t value = strtoull(text, NULL, 10), unit = 1;
    const char *suffix = text + digits;
    if (strcmp(suffix, "K") == 0) unit = 1ull << 10;
    else if (strcmp(suffix, "M") == 0) unit = 1ull << 20;
    else if (strcmp(suffix, "G") == 0) unit = 1ull << 30;
    else if (suffix[0] != '\0') return -EINVAL;
    if (value > TROC_LEDGER_MAP_SIZE_MAX / unit) return -EINVAL;
    uint64_t bytes = value * unit;
    if (bytes < TROC_LEDGER_MAP_SIZE_MIN) return -EINVAL; /* as given, before rounding up to pages */
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    bytes = (bytes + page - 1) / page * page;
    if (bytes > TROC_LEDGER_MAP_SIZE_MAX) return -EINVAL;
    *bytes_out = bytes;
    return 0;
}

/* The directory part of `path` ("." when it has none), resolved; false when
 * it cannot be. */
static bool directory_resolved(const char *path, char resolved[PATH_MAX]) {
    char directory[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) snprintf(directory, sizeof directory, ".");
    else snprintf(directory, sizeof directory, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    return realpath(directory, resolved) != NULL;
}

/* The port file is replaced at start and removed at stop: whatever it
 * names goes.  So it may not be anything but a regular file (a device, a
 * link, a directory would be destroyed), nor lie in the ledger's
 * directory, where it could name data.mdb or territory.key. */
static int run_check_port_file(const run_options *options) {
    const char *path = options->port_file;
    struct stat st;
    if (path[0] == '\0') {
        fputs("trocd run: --port-file is empty; give a file name\n", stderr);
        return TROCD_EXIT_USAGE;
    }
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        fprintf(stderr, "trocd run: --port-file %s exists and is not a regular file (a link, a device, a "
                        "directory): it would be replaced, then removed; give another name\n", path);
        return TROCD_EXIT_USAGE;
    }
    char port_directory[PATH_MAX], data_directory[PATH_MAX];
    if (directory_resolved(path, port_directory) && realpath(options->data, data_directory) != NULL &&
        strcmp(port_directory, data_directory) == 0) {
        fprintf(stderr, "trocd run: --port-file %s lies in the ledger's directory, whose files it could replace; "
                        "put it elsewhere (say /run/troc/port)\n", path);
        return TROCD_EXIT_USAGE;
    }
    return 0;
}

/* Checks the values of the options that take one. */
static int run_check_values(run_options *options) {
    if (options->clear_every != NULL && run_parse_duration(options->clear_every, &options->clear_every_ms) != 0) {
        fprintf(stderr, "trocd run: --clear-every '%s' is not a duration from 1s to 366d (a whole number and "
                        "a unit: 30s, 15m, 1h, 1d)\n", options->clear_every);
        return TROCD_EXIT_USAGE;
    }
    if (options->map_size != NULL && run_parse_size(options->map_size, &options->map_size_bytes) != 0) {
        fprintf(stderr, "trocd run: --map-size '%s' is not a size from %lluM to %lluG (bytes, or a whole number "
                        "and K, M or G)\n", options->map_size, (unsigned long long)(TROC_LEDGER_MAP_SIZE_MIN >> 20),
                (unsigned long long)(TROC_LEDGER_MAP_SIZE_MAX >> 30));
        return TROCD_EXIT_USAGE;
    }
    if (options->port_file != NULL) return run_check_port_file(options);
    return 0;
}

/* Checks --listen and --socket before the ledger is opened: a mistyped
 * address is the command line's fault, not the ledger's, and is told as
 * such.  Whether the address is free is known only once bound. */
static int run_check_addresses(const run_options *options) {
    const char *problem = NULL;
    if (options->listen != NULL && troc_server_check_listen(options->listen, &problem) != 0) {
        fprintf(stderr, "trocd run: --listen '%s' %s\n", options->listen, problem);
        return TROCD_EXIT_USAGE;
    }
    if (options->socket_path != NULL && troc_server_check_socket_path(options->socket_path, &problem) != 0) {
        fprintf(stderr, "trocd run: --socket '%s' %s\n", options->socket_path, problem);
        return TROCD_EXIT_USAGE;
    }
    return 0;
}

/* Parses the options; returns 0, or TROCD_EXIT_USAGE after saying why.
 * An option given twice is refused rather than the last one taken: which
 * of two --data the daemon serves should not be a guess. */
static int run_parse(int argc, char **argv, run_options *options) {
    *options = (run_options){0};
    for (int i = 1; i < argc; i++) {
        const char **target = NULL;
        if (strcmp(argv[i], "--data") == 0) target = &options->data;
        else if (strcmp(argv[i], "--listen") == 0) target = &options->listen;
        else if (strcmp(argv[i], "--socket") == 0) target = &options->socket_path;
        else if (strcmp(argv[i], "--port-file") == 0) target = &options->port_file;
        else if (strcmp(argv[i], "--clear-every") == 0) target = &options->clear_every;
        else if (strcmp(argv[i], "--map-size") == 0) target = &options->map_size;
        if (target == NULL) {
            fprintf(stderr, "trocd run: unknown option '%s'; see 'trocd run --help'\n", argv[i]);
            return TROCD_EXIT_USAGE;
        }
        if (*target != NULL) {
            fprintf(stderr, "trocd run: %s is given twice; see 'trocd run --help'\n", argv[i]);
            return TROCD_EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "trocd run: %s needs a value; see 'trocd run --help'\n", argv[i]);
            return TROCD_EXIT_USAGE;
        }
        *target = argv[++i];
    }
    if (options->listen == NULL) options->listen = RUN_DEFAULT_LISTEN;
    if (options->data == NULL) {
        fputs("trocd run: --data DIR is required; see 'trocd run --help'\n", stderr);
        return TROCD_EXIT_USAGE;
    }
    int status = run_check_values(options);
    if (status != 0) return status;
    if (strcmp(options->listen, "none") == 0) options->listen = NULL;
    if (options->listen == NULL && options->socket_path == NULL) {
        fputs("trocd run: with --listen none, give --socket PATH\n", stderr);
        return TROCD_EXIT_USAGE;
    }
    return run_check_addresses(options);
}

/* Writes the port into a file of its own (named after this process, so
 * that two daemons given the same path never write each other's, and
 * created as any file is, under the operator's umask), renamed into place:
 * a reader never sees it half written. */
static int write_port_file(const char *path, int port, struct stat *written) {
    char temporary[4096];
    if (snprintf(temporary, sizeof temporary, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof temporary) {
        return -ENAMETOOLONG;
    }
    FILE *file = fopen(temporary, "we");
    if (file == NULL) return -errno;
    int rc = fprintf(file, "%d\n", port) < 0 ? -EIO : 0;
    if (fclose(file) != 0 && rc == 0) rc = -errno;
    if (rc == 0 && stat(temporary, written) != 0) rc = -errno;
    if (rc == 0 && rename(temporary, path) != 0) rc = -errno;
    if (rc != 0) unlink(temporary);
    return rc;
}

/* Removes the port file at exit, unless another process has written its
 * own there since (a second daemon given the same --port-file while this
 * one ran): that one is not this daemon's to remove. */
static void remove_port_file(const char *path, const struct stat *written) {
    struct stat now;
    if (stat(path, &now) == 0 && now.st_dev == written->st_dev && now.st_ino == written->st_ino) unlink(path);
}

/* Signature verification runs on libuv's thread pool: give it one thread
 * per core, plus one for the clearing solve that may hold a thread for
 * seconds (one solve runs at a time), so that a solve never stops every
 * verification (on one core it would have taken the only thread).  Unless
 * the operator chose: libuv reads the variable when the pool starts, at
 * the first verification. */
/* Returns the threads libuv will start: it reads the variable with atoi,
 * takes 0 (or anything not a number) as 1 and caps it at 1024. */
static unsigned run_size_thread_pool(void) {
    if (getenv("UV_THREADPOOL_SIZE") == NULL) {
        char value[16];
        snprintf(value, sizeof value, "%u", uv_available_parallelism() + 1);
        setenv("UV_THREADPOOL_SIZE", value, 0);
    }
    unsigned threads = (unsigned)atoi(getenv("UV_THREADPOOL_SIZE"));
    if (threads == 0) threads = 1;
    return threads > 1024 ? 1024 : threads;
}

/* Serves `ledger` on a loop of its own until stopped. */
static int run_serve(troc_ledger *ledger, const run_options *options) {
    uv_loop_t loop;
    int rc = uv_loop_init(&loop);
    if (rc != 0) return rc;
    troc_server *server = NULL;
    bool port_file_written = false;
    struct stat port_file_stat;
    troc_server_options server_options = {
        .listen = options->listen,
        .socket_path = options->socket_path,
        .handle_signals = true,
        .raise_descriptor_limit = true,
        .clear_every_ms = options->clear_every_ms};
    rc = troc_server_open(&server, &loop, ledger, &server_options);
    if (rc != 0) goto done; /* the server said which address failed and why */
    if (options->port_file != NULL) {
        rc = write_port_file(options->port_file, troc_server_tcp_port(server), &port_file_stat);
        if (rc != 0) {
            troc_log("cannot start the server: cannot write the port file %s: %s", options->port_file,
                     troc_strerror(rc));
        }
        port_file_written = rc == 0;
    }
    if (rc == 0) rc = troc_server_run(server);
    troc_server_close(server); /* one that never ran closes without a word */
    if (port_file_written) remove_port_file(options->port_file, &port_file_stat);
done:;
    int close_rc = uv_loop_close(&loop);
    if (close_rc != 0) troc_log("the event loop still had open handles: %s", uv_strerror(close_rc));
    return rc != 0 ? rc : close_rc;
}

int troc__trocd_run(int argc, char **argv) {
    if (troc__trocd_wants_help(argc, argv)) {
        run_usage(stdout);
        return TROCD_EXIT_OK;
    }
    run_options options;
    int status = run_parse(argc, argv, &options);
    if (status != 0) return status;
    troc_ledger *ledger = NULL;
    char problem[TROC_LEDGER_PROBLEM_SIZE];
    int rc = troc_ledger_open_sized(&ledger, options.data, (size_t)options.map_size_bytes, problem);
    if (rc != 0) {
        if (rc == TROC_ENOT_FOUND) {
            fprintf(stderr, "trocd run: no ledger in %s; create one with 'trocd init'\n", options.data);
        } else if (troc__trocd_key_file_error(options.data, rc)) {
            char message[2048];
            troc__trocd_key_file_describe(options.data, rc, message, sizeof message);
            fprintf(stderr, "trocd run: %s\n", message);
        } else if (rc == -EBUSY) {
            fprintf(stderr,
                    "trocd run: the ledger in %s is in use by another process (is trocd already running on it?)\n",
                    options.data);
        } else if (rc == -ENOSPC) {
            fprintf(stderr, "trocd run: cannot open the ledger in %s: no space left on the disk holding it: free "
                    "some space\n", options.data);
        } else if (rc == TROC_ECORRUPT) {
            /* The command is pasted as it is: the path quoted for a shell. */
            char quoted[TROC_SHELL_QUOTE_SIZE(PATH_MAX)];
            troc_shell_quote_cut(options.data, quoted, sizeof quoted);
            fprintf(stderr,
                    "trocd run: cannot open the ledger in %s: %s%s%s%s\n"
                    "trocd run: see what is damaged with: trocd verify --data %s (docs/operations.md says how to "
                    "restore a backup)\n",
                    options.data, troc_strerror(rc), problem[0] ? " (" : "", problem, problem[0] ? ")" : "", quoted);
        } else {
            fprintf(stderr, "trocd run: cannot open the ledger in %s: %s\n", options.data, troc_strerror(rc));
        }
        return TROCD_EXIT_FAILURE;
    }
    const unsigned threads = run_size_thread_pool();
    /* An operator's value that libuv reads as another number is shown. */
    char used[16], asked[64] = "";
    snprintf(used, sizeof used, "%u", threads);
    if (strcmp(getenv("UV_THREADPOOL_SIZE"), used) != 0) {
        snprintf(asked, sizeof asked, ", from UV_THREADPOOL_SIZE=%.16s", getenv("UV_THREADPOOL_SIZE"));
    }
    troc_log("starting: ledger %s, territory %s (%s), %u pool thread%s%s (signatures, clearing solves)", options.data,
             troc_ledger_territory(ledger), troc_ledger_unit(ledger), threads, threads == 1 ? "" : "s", asked);
    if (troc_ledger_stale_readers(ledger) > 0) {
        troc_log("cleared %d stale reader slot(s) left in the ledger by a process that died",
                 troc_ledger_stale_readers(ledger));
    }
    if (options.map_size != NULL) troc_log("ledger map: %zu bytes", troc_ledger_map_size(ledger));
    rc = run_serve(ledger, &options);
    troc_ledger_close(ledger);
    return rc == 0 ? TROCD_EXIT_OK : TROCD_EXIT_FAILURE;
}
