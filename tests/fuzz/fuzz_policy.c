/* Fuzzes policy_parse() with arbitrary rule text.
 *
 * Invariants:
 *
 *   - parsing never crashes, leaks or reads outside the input (which is not
 *     NUL-terminated here, on purpose);
 *   - a failure always carries a "source:line:column: reason" message;
 *   - a table that parses formats (policy_table_format()) into canonical
 *     text that parses again into the same rules, in the same order, and
 *     formats into the same text (the canonical form is a fixed point);
 *   - translating a flow built from the input's first bytes through the
 *     table succeeds and yields valid datapath actions. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/odp-actions.h"
#include "common/policy.h"
#include "common/xlate.h"

static void
check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t ports[] = { 0, 1, 2, 3 };
    static const struct odp_actions_policy any = {
        .allowed = ODP_ACTIONS_SUPPORTED,
        .port_ok = odp_accept_any,
        .pid_ok = odp_accept_any,
    };
    char *copy = malloc(size ? size : 1);
    struct policy_table *t = NULL, *t2 = NULL;
    struct errbuf eb = { "" };

    /* A heap copy of exactly 'size' bytes, so ASan sees any overread. */
    memcpy(copy, data, size);
    if (policy_parse(copy, size, "fuzz", 1, &t, &eb)) {
        check(!strncmp(eb.msg, "fuzz:", 5));
        check(t == NULL);
        free(copy);
        return 0;
    }

    char *text = policy_table_format(t, false);
    if (policy_parse(text, strlen(text), "canonical", 2, &t2, &eb)) {
        abort();
    }
    check(t2->n_rules == t->n_rules);
    for (size_t i = 0; i < t->n_rules; i++) {
        check(policy_rule_equal(&t->rules[i], &t2->rules[i]));
    }
    char *text2 = policy_table_format(t2, false);
    check(!strcmp(text, text2));

    struct flow flow;
    struct xlate_out out;
    struct xlate_in in = {
        .flow = &flow, .table = t, .ports = ports,
        .n_ports = sizeof ports / sizeof ports[0], .upcall_pid = 1,
    };
    memset(&flow, 0, sizeof flow);
    memcpy(&flow, data, size < sizeof flow ? size : sizeof flow);
    xlate_out_init(&out);
    check(!xlate_translate(&in, &out, &eb));
    check(!odp_actions_validate(out.actions.data, out.actions.size, &any,
                                &eb));
    check(!odp_actions_validate(out.flow_actions.data, out.flow_actions.size,
                                &any, &eb));
    xlate_out_uninit(&out);

    free(text);
    free(text2);
    policy_table_destroy(t);
    policy_table_destroy(t2);
    free(copy);
    return 0;
}
