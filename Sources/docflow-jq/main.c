// docflow-jq: evaluates jq programs for docflow in a process of its own.
//
// Debian's libjq 1.6 is not thread-safe and a running program cannot be interrupted, so docflow
// never loads it: it talks to a few of these processes and kills one that overruns its deadline
// or crashes, failing only the step that was using it.
//
// Protocol: one JSON request per line on stdin, one JSON reply per line on stdout.
//   request: {"program": "<jq>", "input": <json>, "compile_only": false}
//   reply:   {"ok": true, "results": [<json>...]}
//          | {"ok": false, "kind": "compile" | "runtime" | "request", "error": "<message>"}
//
// Usage: docflow-jq [<pid of docflow>]. It runs with an empty environment and only
// descriptors 0, 1 and 2, and dies with docflow.
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <jq.h>
#include <jv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#define CACHE_SIZE 256
#define MAX_RESULTS 10000

typedef struct {
    char *program;
    jq_state *jq;
    jv errors;
    unsigned long used;
} entry;

static entry cache[CACHE_SIZE];
static unsigned long tick;

static void collect_error(void *data, jv message) {
    entry *e = data;
    if (jv_get_kind(message) != JV_KIND_STRING) message = jv_dump_string(message, 0);
    e->errors = jv_array_append(e->errors, message);
}

static jv joined_errors(entry *e) {
    jv text = jv_string("");
    int n = jv_array_length(jv_copy(e->errors));
    for (int i = 0; i < n; i++) {
        jv part = jv_array_get(jv_copy(e->errors), i);
        const char *s = jv_string_value(part);
        if (strncmp(s, "jq: error: ", 11) == 0) s += 11;
        if (strncmp(s, "jq: ", 4) == 0 && strstr(s, "compile error")) {
            jv_free(part);
            continue;
        }
        if (jv_string_length_bytes(jv_copy(text)) > 0) text = jv_string_append_str(text, "; ");
        text = jv_string_append_str(text, s);
        jv_free(part);
    }
    jv_free(e->errors);
    e->errors = jv_array();
    return text;
}

static void send_reply(jv reply) {
    jv text = jv_dump_string(reply, 0);
    fputs(jv_string_value(text), stdout);
    fputc('\n', stdout);
    fflush(stdout);
    jv_free(text);
}

static void reply_error(const char *kind, jv message) {
    jv reply = jv_object_set(jv_object(), jv_string("ok"), jv_false());
    reply = jv_object_set(reply, jv_string("kind"), jv_string(kind));
    send_reply(jv_object_set(reply, jv_string("error"), message));
}

static void reply_results(jv results) {
    jv reply = jv_object_set(jv_object(), jv_string("ok"), jv_true());
    send_reply(jv_object_set(reply, jv_string("results"), results));
}

// Whether the program starts with a module directive (`module`, `import`, `include`): jq's grammar
// allows them only there, before any expression or definition. docflow has no module library,
// and libjq 1.6 aborts on an import without a library path.
static int uses_modules(const char *program) {
    const char *p = program;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (*p != '#') break;
        while (*p && *p != '\n') p++;
    }
    size_t length = 0;
    while (isalnum((unsigned char)p[length]) || p[length] == '_') length++;
    return (length == 6 && (strncmp(p, "import", 6) == 0 || strncmp(p, "module", 6) == 0)) ||
           (length == 7 && strncmp(p, "include", 7) == 0);
}

// The compiled program, from the cache or compiled now; NULL with the reply sent on failure.
static entry *compiled(const char *program) {
    entry *oldest = &cache[0];
    for (int i = 0; i < CACHE_SIZE; i++) {
        if (cache[i].program && strcmp(cache[i].program, program) == 0) {
            cache[i].used = ++tick;
            return &cache[i];
        }
        if (cache[i].used < oldest->used) oldest = &cache[i];
    }
    if (oldest->program) {
        free(oldest->program);
        jq_teardown(&oldest->jq);
        jv_free(oldest->errors);
        oldest->program = NULL;
    }
    if (uses_modules(program)) {
        reply_error("compile", jv_string("jq modules (import/include) are not supported"));
        return NULL;
    }
    entry *e = oldest;
    e->jq = jq_init();
    e->errors = jv_array();
    jq_set_error_cb(e->jq, collect_error, e);
    // No library: `modulemeta` and anything that slips past uses_modules find no module, and
    // libjq does not abort on a missing path.
    jq_set_attr(e->jq, jv_string("JQ_LIBRARY_PATH"), jv_array());
    jq_set_attr(e->jq, jv_string("JQ_ORIGIN"), jv_string("/nonexistent"));
    jq_set_attr(e->jq, jv_string("PROGRAM_ORIGIN"), jv_string("/nonexistent"));
    if (!jq_compile(e->jq, program)) {
        reply_error("compile", joined_errors(e));
        jq_teardown(&e->jq);
        jv_free(e->errors);
        e->used = 0;
        return NULL;
    }
    e->program = strdup(program);
    e->used = ++tick;
    return e;
}

static void handle(const char *line) {
    jv request = jv_parse(line);
    if (!jv_is_valid(request) || jv_get_kind(request) != JV_KIND_OBJECT) {
        jv_free(request);
        reply_error("request", jv_string("request is not a JSON object"));
        return;
    }
    jv program = jv_object_get(jv_copy(request), jv_string("program"));
    if (jv_get_kind(program) != JV_KIND_STRING) {
        jv_free(program);
        jv_free(request);
        reply_error("request", jv_string("request has no program"));
        return;
    }
    jv compile_only = jv_object_get(jv_copy(request), jv_string("compile_only"));
    jv input = jv_object_get(request, jv_string("input"));
    if (!jv_is_valid(input)) input = jv_null();
    entry *e = compiled(jv_string_value(program));
    jv_free(program);
    if (!e) {
        jv_free(input);
        jv_free(compile_only);
        return;
    }
    if (jv_get_kind(compile_only) == JV_KIND_TRUE) {
        jv_free(input);
        jv_free(compile_only);
        reply_results(jv_array());
        return;
    }
    jv_free(compile_only);
    jq_start(e->jq, input, 0);
    jv results = jv_array();
    int count = 0;
    for (;;) {
        jv result = jq_next(e->jq);
        if (jv_is_valid(result)) {
            if (++count > MAX_RESULTS) {
                jv_free(result);
                jv_free(results);
                reply_error("runtime", jv_string("program produced more than 10000 results"));
                return;
            }
            results = jv_array_append(results, result);
            continue;
        }
        if (jv_invalid_has_msg(jv_copy(result))) {
            jv message = jv_invalid_get_msg(result);
            if (jv_get_kind(message) != JV_KIND_STRING) message = jv_dump_string(message, 0);
            jv_free(results);
            reply_error("runtime", message);
            return;
        }
        jv_free(result);
        break;
    }
    reply_results(results);
}

// Dies with docflow: an orphaned runaway program would otherwise spin on. PR_SET_PDEATHSIG fires
// when the thread that started the helper ends; docflow starts helpers from its jq workers'
// threads, which live as long as the pool. This watcher is the fallback.
static pid_t parent;

static void *watch_parent(void *unused) {
    (void)unused;
    for (;;) {
        sleep(1);
        if (getppid() != parent) _exit(1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    // Whatever docflow left open without close-on-exec (its listening socket, say) must not stay
    // open here: an orphaned helper would keep docflow's port bound.
    closefrom(3);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    parent = argc > 1 ? (pid_t)atol(argv[1]) : getppid();
    // docflow died before the prctl took effect.
    if (getppid() != parent) _exit(1);
    // A program's `stderr` and `debug` output must not reach docflow's log.
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0 && null != 2) {
        dup2(null, 2);
        close(null);
    }
    pthread_t watcher;
    pthread_create(&watcher, NULL, watch_parent, NULL);
    // A runaway program should fail on its own rather than take the machine's memory.
    struct rlimit limit = {1UL << 30, 1UL << 30};
    setrlimit(RLIMIT_AS, &limit);
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    while ((length = getline(&line, &capacity, stdin)) > 0) {
        if (line[length - 1] == '\n') line[length - 1] = 0;
        handle(line);
    }
    free(line);
    return 0;
}
