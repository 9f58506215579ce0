/*
 * check_rules_example FILE... — each file parses with policy_parse(), the
 * parser dpifd and its workers use: the example rules that the packages
 * ship (packaging/examples/rules) stays valid.  Prints every rule in canonical form; exits 1 with the parser's
 * "file:line:column: reason" on the first error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/policy.h"
#include "common/util.h"

static char *
read_file(const char *path, size_t *lenp)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            char *bigger = realloc(buf, cap);
            if (!bigger) {
                free(buf);
            }
            buf = bigger;
        }
    }
    fclose(f);
    *lenp = len;
    return buf;
}

int
main(int argc, char *argv[])
{
    for (int i = 1; i < argc; i++) {
        size_t len;
        char *text = read_file(argv[i], &len);
        if (!text) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            return 1;
        }
        struct policy_table *table = NULL;
        struct errbuf eb = { "" };
        int error = policy_parse(text, len, argv[i], 1, &table, &eb);
        free(text);
        if (error) {
            fprintf(stderr, "FAIL: %s\n", eb.msg);
            return 1;
        }
        char *canon = policy_table_format(table, false);
        printf("%s: %zu rules\n%s", argv[i], table->n_rules, canon);
        free(canon);
        policy_table_destroy(table);
    }
    return 0;
}
