/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The known-territories file: how a client remembers which territory key
 * answered at which address, so that a server presenting another key later
 * is refused (trust on first use, as ssh's known_hosts).
 *
 * Format: UTF-8 text, one entry per line,
 *
 *   # comment (and blank lines) ignored; a comment may also end an entry
 *   ADDRESS KEY
 *
 * ADDRESS is the server address exactly as the client was given it
 * ("127.0.0.1:7400", "/run/trocd.sock"); KEY is the territory's public key
 * in 64 hex digits; one or more spaces or tabs separate them.  The first
 * line for an address wins.  A line that does not have this shape makes the
 * file corrupt: connecting fails until it is fixed, because silently
 * skipping it could skip the one line that protects the user.
 *
 * Entries are appended with one write() to a file opened with O_APPEND, so
 * that two clients pinning at once cannot interleave partial lines.
 *
 * Pinning creates only the directories troc names itself, and the
 * configuration directory (as the XDG base directory rules ask): "troc"
 * and $XDG_CONFIG_HOME, or "troc" and ".config" under the home directory;
 * for a file the caller named, its own directory.  A missing home
 * directory, or a missing parent of $XDG_CONFIG_HOME, is an error, not
 * something to create: HOME=/nonexistent would otherwise grow a tree from
 * the root.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_int.h"

#define KNOWN_FILE_NAME "troc/known_territories"
#define KNOWN_DIRECTORIES_MAX 2 /* "troc" and the configuration directory */
#define KNOWN_HEADER "# troc known territories: SERVER-ADDRESS TERRITORY-KEY, pinned on first use\n"
/* A line: address, separator, key, newline, and room to see a longer one. */
#define KNOWN_LINE_SIZE (TROC_ADDRESS_LENGTH_MAX + 1 + 2 * TROC_PUBLIC_KEY_SIZE + 64)

int troc__known_default_path(char *path, size_t path_size, int *directories_max_out) {
    assert(path != NULL && path_size > 0 && directories_max_out != NULL);
    *directories_max_out = 0;
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    struct passwd entry, *found = NULL;
    char buffer[4096];
    if ((home == NULL || home[0] != '/') && getpwuid_r(getuid(), &entry, buffer, sizeof buffer, &found) == 0 &&
        found != NULL) {
        home = found->pw_dir;
    }
    int length;
    const int directories_max = 2; /* troc/ and the configuration directory */
    if (xdg != NULL && xdg[0] == '/') {
        length = snprintf(path, path_size, "%s/%s", xdg, KNOWN_FILE_NAME);
    } else if (home != NULL && home[0] == '/') {
        length = snprintf(path, path_size, "%s/.config/%s", home, KNOWN_FILE_NAME);
    } else {
        path[0] = '\0';
        return -ENOENT;
    }
    if (length < 0 || (size_t)length >= path_size) {
        path[0] = '\0';
        return -ENAMETOOLONG;
    }
    *directories_max_out = directories_max;
    return 0;
}

bool troc__known_address_valid(const char *address) {
    assert(address != NULL);
    size_t length = strlen(address);
    if (length == 0 || length > TROC_ADDRESS_LENGTH_MAX) return false;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)address[i];
        if (c <= ' ' || c == 0x7F || c == '#') return false;
    }
    return true;
}

/* Splits one line (newline removed) into its address and key.  Returns 1
 * for an entry, 0 for a comment or blank line, TROC_ECORRUPT otherwise. */
static int parse_line(char *line, const char **address_out, uint8_t key_out[TROC_PUBLIC_KEY_SIZE]) {
    char *p = line + strspn(line, " \t");
    if (*p == '\0' || *p == '#') return 0;
    char *address = p;
    p += strcspn(p, " \t");
    if (*p == '\0') return TROC_ECORRUPT;
    *p++ = '\0';
    p += strspn(p, " \t");
    char *key = p;
    p += strcspn(p, " \t");
    char *rest = p + strspn(p, " \t");
    if (*rest != '\0' && *rest != '#') return TROC_ECORRUPT; /* a comment may end the line */
    *p = '\0';
    if (!troc__known_address_valid(address) || troc_public_key_from_hex(key, key_out) != 0) return TROC_ECORRUPT;
    *address_out = address;
    return 1;
}

/* Reads one line into `line` without its newline.  Returns 1, 0 at the end
 * of the file, TROC_ECORRUPT for a line longer than the buffer. */
static int read_line(FILE *file, char line[KNOWN_LINE_SIZE]) {
    if (fgets(line, KNOWN_LINE_SIZE, file) == NULL) return 0;
    size_t length = strlen(line);
    if (length > 0 && line[length - 1] == '\n') {
        line[--length] = '\0';
    } else if (!feof(file)) {
        return TROC_ECORRUPT;
    }
    if (length > 0 && line[length - 1] == '\r') line[--length] = '\0';
    return 1;
}

/* Scans the open file for `address`; see troc__known_lookup. */
static int scan(FILE *file, const char *address, uint8_t key_out[TROC_PUBLIC_KEY_SIZE], bool *found_out,
                int *line_out) {
    char line[KNOWN_LINE_SIZE];
    for (int number = 1; number <= TROC_KNOWN_TERRITORIES_LINES_MAX; number++) {
        *line_out = number;
        int rc = read_line(file, line);
        if (rc == 0) return ferror(file) ? (errno > 0 ? -errno : -EIO) : 0;
        if (rc < 0) return rc;
        const char *entry_address = NULL;
        uint8_t key[TROC_PUBLIC_KEY_SIZE];
        rc = parse_line(line, &entry_address, key);
        if (rc < 0) return rc;
        if (rc == 1 && strcmp(entry_address, address) == 0) {
            memcpy(key_out, key, TROC_PUBLIC_KEY_SIZE);
            *found_out = true;
            return 0;
        }
    }
    return TROC_ELIMIT; /* as many lines as a file may hold, none of them the address's: no room for it */
}

int troc__known_lookup(const char *path, const char *address, uint8_t key_out[TROC_PUBLIC_KEY_SIZE], bool *found_out,
                       int *line_out) {
    assert(path != NULL && address != NULL && key_out != NULL);
    assert(found_out != NULL && line_out != NULL);
    *found_out = false;
    *line_out = 0;
    FILE *file = fopen(path, "re");
    if (file == NULL) return errno == ENOENT ? 0 : -errno;
    int rc = scan(file, address, key_out, found_out, line_out);
    fclose(file);
    if (rc == 0 && !*found_out) *line_out = 0;
    return rc;
}

/* Creates the missing directories at the end of `path`'s directory, at
 * most `directories_max` of them (mode 0700).  -ENOENT, with nothing
 * created, when more are missing. */
static int make_directories(const char *path, int directories_max) {
    assert(directories_max >= 0 && directories_max <= KNOWN_DIRECTORIES_MAX);
    char directory[TROC__CLIENT_PATH_SIZE];
    size_t length = strlen(path);
    if (length >= sizeof directory) return -ENAMETOOLONG;
    memcpy(directory, path, length + 1);
    size_t ends[KNOWN_DIRECTORIES_MAX]; /* lengths of the missing directories' paths, deepest first */
    int missing = 0;
    for (char *slash = strrchr(directory, '/'); slash != NULL && slash != directory; slash = strrchr(directory, '/')) {
        *slash = '\0';
        struct stat st;
        if (stat(directory, &st) == 0) break; /* not a directory: open() says so */
        if (errno != ENOENT) return -errno;
        if (missing == directories_max) return -ENOENT;
        ends[missing++] = (size_t)(slash - directory);
    }
    for (int i = missing - 1; i >= 0; i--) {
        memcpy(directory, path, ends[i]);
        directory[ends[i]] = '\0';
        if (mkdir(directory, 0700) != 0 && errno != EEXIST) return -errno; /* EEXIST: another client won */
    }
    return 0;
}

int troc__known_pin(const char *path, int directories_max, const char *address,
                    const uint8_t key[TROC_PUBLIC_KEY_SIZE]) {
    assert(path != NULL && address != NULL && key != NULL);
    if (!troc__known_address_valid(address)) return TROC_EUSAGE;
    int rc = make_directories(path, directories_max);
    if (rc != 0) return rc;
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    struct stat st;
    char line[sizeof KNOWN_HEADER + KNOWN_LINE_SIZE + 1];
    char hex[TROC_PUBLIC_KEY_HEX_SIZE];
    troc_public_key_to_hex(key, hex);
    int length = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto done;
    }
    /* A file edited by hand may end without a line end: the new line must
     * not be glued to its last one.  A file cut short since fstat (another
     * program rewriting it) has an unknown end: a line end goes first, and
     * a blank line is harmless. */
    char last = '\n';
    ssize_t got = st.st_size > 0 ? pread(fd, &last, 1, st.st_size - 1) : 1;
    if (got < 0) {
        rc = -errno;
        goto done;
    }
    if (got == 0) last = '\0';
    length = snprintf(line, sizeof line, "%s%s%s %s\n", st.st_size == 0 ? KNOWN_HEADER : "",
                      last == '\n' ? "" : "\n", address, hex);
    assert(length > 0 && (size_t)length < sizeof line);
    ssize_t written = write(fd, line, (size_t)length);
    if (written != length) rc = written < 0 ? -errno : -EIO;
done:
    if (close(fd) != 0 && rc == 0) rc = -errno;
    return rc;
}
