/* Tests for privd/control-server.c that need no running daemon: the
 * command table against the protocol, and the authorization rules.  The
 * served behaviour is tested end to end in tests/integration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "privd/control-server.h"
#include "proto/control.pb-c.h"

/* Every member of the Request oneof has a table entry with a handler in
 * the union of the groups' tables; names are unique. */
static void
command_table_covers_every_request(void **state)
{
    const ProtobufCMessageDescriptor *desc = &dpif__request__descriptor;
    const char *names[64];
    size_t n_names = 0;

    for (unsigned int i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        assert_true(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);

        const struct control_command *cmd = control_command_find(
            (Dpif__Request__CommandCase) field->id);
        if (!cmd) {
            fail_msg("Request.%s (%u) has no command table entry",
                     field->name, field->id);
        }
        assert_int_equal(cmd->request, field->id);
        assert_non_null(cmd->name);
        assert_non_null(cmd->handler);
        for (size_t j = 0; j < n_names; j++) {
            assert_string_not_equal(names[j], cmd->name);
        }
        assert_true(n_names < sizeof names / sizeof names[0]);
        names[n_names++] = cmd->name;
    }
    assert_null(control_command_find(DPIF__REQUEST__COMMAND__NOT_SET));
}

/* The table has no entry that the protocol does not define. */
static void
command_table_has_nothing_extra(void **state)
{
    const ProtobufCMessageDescriptor *desc = &dpif__request__descriptor;

    for (unsigned int id = 0; id < 256; id++) {
        const struct control_command *cmd = control_command_find(
            (Dpif__Request__CommandCase) id);
        if (cmd) {
            assert_non_null(protobuf_c_message_descriptor_get_field(desc,
                                                                     id));
        }
    }
}

/* What reads and what changes, as control.proto documents it. */
static void
command_table_access_matches_protocol(void **state)
{
    static const struct {
        Dpif__Request__CommandCase request;   /* Command. */
        enum control_access access;           /* Its documented access. */
    } expected[] = {
        { DPIF__REQUEST__COMMAND_SHOW, CONTROL_READ },
        { DPIF__REQUEST__COMMAND_DUMP_FLOWS, CONTROL_READ },
        { DPIF__REQUEST__COMMAND_GET_FLOW, CONTROL_READ },
        { DPIF__REQUEST__COMMAND_PROCS, CONTROL_READ },
        { DPIF__REQUEST__COMMAND_COUNTERS, CONTROL_READ },
        { DPIF__REQUEST__COMMAND_METRICS, CONTROL_READ },
        { DPIF__REQUEST__COMMAND_REVALIDATOR_WAIT, CONTROL_READ },
        { DPIF__REQUEST__COMMAND_ADD_DP, CONTROL_WRITE },
        { DPIF__REQUEST__COMMAND_DEL_DP, CONTROL_WRITE },
        { DPIF__REQUEST__COMMAND_ADD_FLOW, CONTROL_WRITE },
        { DPIF__REQUEST__COMMAND_DEL_FLOWS, CONTROL_WRITE },
        { DPIF__REQUEST__COMMAND_INJECT, CONTROL_WRITE },
        { DPIF__REQUEST__COMMAND_LOG_SET, CONTROL_WRITE },
        { DPIF__REQUEST__COMMAND_RULES_REPLACE, CONTROL_WRITE },
        { DPIF__REQUEST__COMMAND_CAPTURE, CONTROL_WRITE_IF_CLEAR },
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const struct control_command *cmd
            = control_command_find(expected[i].request);
        assert_non_null(cmd);
        assert_int_equal(cmd->access, expected[i].access);
    }
}

#define NO_GROUP ((gid_t) -1)

static struct control_peer
authorize(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
          gid_t read_gid, gid_t admin_gid)
{
    struct control_peer peer = { .uid = uid, .gid = gid, .pid = 1 };
    control_peer_authorize(&peer, groups, n_groups, 995, read_gid,
                           admin_gid);
    return peer;
}

static void
peer_root_and_self_may_do_everything(void **state)
{
    struct control_peer p = authorize(0, 0, NULL, 0, 994, 993);
    assert_true(p.may_read && p.may_write && p.trusted);
    p = authorize(995, 995, NULL, 0, NO_GROUP, NO_GROUP);
    assert_true(p.may_read && p.may_write && p.trusted);
}

static void
peer_read_group_reads_only(void **state)
{
    gid_t groups[] = { 100, 994 };
    struct control_peer p = authorize(1000, 1000, groups, 2, 994, 993);
    assert_true(p.may_read);
    assert_false(p.may_write);
    /* The primary group counts as well. */
    p = authorize(1000, 994, NULL, 0, 994, 993);
    assert_true(p.may_read);
    assert_false(p.may_write);
}

static void
peer_admin_group_changes_and_reads(void **state)
{
    gid_t groups[] = { 993 };
    struct control_peer p = authorize(1000, 1000, groups, 1, 994, 993);
    assert_true(p.may_read && p.may_write);
    /* An administrator has a per-uid connection quota all the same. */
    assert_false(p.trusted);
}

static void
peer_stranger_denied(void **state)
{
    gid_t groups[] = { 100, 27 };
    struct control_peer p = authorize(1000, 1000, groups, 2, 994, 993);
    assert_false(p.may_read || p.may_write);
    /* Missing groups match nobody, not even a gid of -1. */
    p = authorize(1000, NO_GROUP, NULL, 0, NO_GROUP, NO_GROUP);
    assert_false(p.may_read || p.may_write);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(command_table_covers_every_request),
        cmocka_unit_test(command_table_has_nothing_extra),
        cmocka_unit_test(command_table_access_matches_protocol),
        cmocka_unit_test(peer_root_and_self_may_do_everything),
        cmocka_unit_test(peer_read_group_reads_only),
        cmocka_unit_test(peer_admin_group_changes_and_reads),
        cmocka_unit_test(peer_stranger_denied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
