/*  fuzz_config.c — fuzz target for YAML config files (ob_config_load).

    ob_config_load reads a path, so each input is written to one temp file,
    created once with mkstemp and rewritten in place; the file is removed
    at exit. Any input must load or fail with a "file:line:column" message,
    never crash, hang or leak. A loaded config is walked: every key read
    as text, as an integer and as a path.                                  */
#include "ob_common.h"
#include "ob_config.h"
#include <unistd.h>

static char s_path[256];
static int s_fd = -1;

static void s_cleanup(void)
{
    if (s_fd >= 0) {
        close(s_fd);
        unlink(s_path);
        s_fd = -1;
    }
}

static int s_open_once(void)
{
    if (s_fd >= 0)
        return 0;
    const char *dir = getenv("TMPDIR");
    snprintf(s_path, sizeof s_path, "%s/ob_fuzz_config_XXXXXX", dir && *dir ? dir : "/tmp");
    s_fd = mkstemp(s_path);
    if (s_fd < 0)
        return -1;
    atexit(s_cleanup);
    return 0;
}

/* Replaces the temp file's content with data[0..size). */
static int s_write_input(const uint8_t *data, size_t size)
{
    if (ftruncate(s_fd, 0) != 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(s_fd, data + done, size - done, (off_t) done);
        if (n <= 0)
            return -1;
        done += (size_t) n;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (s_open_once() < 0 || s_write_input(data, size) < 0)
        return 0;   /* no temp space: nothing to test, not a finding */

    char err[512] = "";
    ob_config_t *config = ob_config_load(s_path, err, sizeof err);
    if (!config) {
        if (strncmp(err, s_path, strlen(s_path)) != 0 && !strstr(err, s_path))
            abort();   /* every refusal names the file */
        return 0;
    }
    size_t n = ob_config_count(config);
    for (size_t i = 0; i < n; i++) {
        const char *key = ob_config_key(config, i);
        if (!key)
            abort();
        const char *value = ob_config_get(config, key, NULL);
        if (value)
            (void) strlen(value);
        long v;
        (void) ob_config_get_long(config, key, 0, -1000000, 1000000, &v, err, sizeof err);
        const char *path = ob_config_path(config, key);
        if (path)
            (void) strlen(path);
    }
    if (ob_config_key(config, n) != NULL)
        abort();
    ob_config_destroy(&config);
    return 0;
}
