/*
 * json_check.h — a strict RFC 8259 JSON validator for the dpifctl tests.
 *
 * json_check() accepts exactly one JSON value surrounded by optional
 * whitespace: no trailing commas, no comments, no leading zeros, no
 * control characters or invalid UTF-8 in strings, no unknown escapes, no
 * lone surrogate escapes, no duplicate keys in an object.  On failure it
 * returns false and describes the first problem (with its byte offset) in
 * 'why', which may be NULL.
 */
#ifndef DPIF_TEST_JSON_CHECK_H
#define DPIF_TEST_JSON_CHECK_H 1

#include <stdbool.h>
#include <stddef.h>

bool json_check(const char *text, size_t len, char *why, size_t why_size);

#endif /* json_check.h */
