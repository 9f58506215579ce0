/* bench_classifier: lookups per second of the megaflow classifier (and of
 * the EMC in front of it) against the number of masks and of flows.
 *
 * Usage: bench_classifier [SECONDS_PER_CELL]   (default 0.2)
 *
 * For each cell (masks x flows) it inserts the flows, then times lookups of
 * three packet streams, each pre-generated into an array:
 *
 *   hit   packets of random installed flows (uniform over all flows, random
 *         values in wildcarded bits), so every subtable gets its share and
 *         the ranking cannot favour one: about masks/2 subtables per hit;
 *   miss  packets that no flow matches: every subtable is searched;
 *   emc   the hit stream restricted to 4096 distinct packets, looked up
 *         through an EMC (emc_lookup()), as long-lived connections are.
 *
 * Flows of mask m all have nw_dst/8 == m and every mask matches at least
 * nw_dst/8, so flows of different masks never overlap; within a mask,
 * nw_src (always matched exactly) makes the keys distinct.
 *
 * Prints a table and the conditions; asserts nothing.  All randomness comes
 * from fixed seeds, printed with the results. */
#include <inttypes.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/flow.h"
#include "common/util.h"
#include "privd/classifier.h"
#include "privd/emc.h"

#define BENCH_SECRET 0x0bec4u        /* Classifier hash secret. */
#define BENCH_SEED 0x9e3779b97f4a7c15ULL /* Flow and packet generator. */
#define N_PACKETS (1u << 16)         /* Packets per stream. */
#define N_HOT 4096u                  /* Distinct packets of the emc stream. */

/* A flow record as a datapath would keep it (minus actions and stats). */
struct bench_flow {
    struct cls_rule cr;             /* In the classifier. */
    struct flow key;                /* Original key. */
    unsigned int mask_idx;          /* Which mask. */
};

static uint64_t
rng_next(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static double
now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Mask 'i' of up to 100: dl_type and nw_src/32 always; nw_dst/(8 + i/4);
 * in_port if bit 0 of i; nw_proto and tp_dst if bit 1. */
static void
bench_mask(unsigned int i, struct flow *m)
{
    unsigned int plen = 8 + i / 4;

    memset(m, 0, sizeof *m);
    m->dl_type = UINT16_MAX;
    m->nw_src = UINT32_MAX;
    m->nw_dst = htonl(plen >= 32 ? UINT32_MAX : ~(UINT32_MAX >> plen));
    if (i & 1) {
        m->in_port = UINT32_MAX;
    }
    if (i & 2) {
        m->nw_proto = UINT8_MAX;
        m->tp_dst = UINT16_MAX;
    }
}

/* A random TCP packet towards subnet 'net'.0.0.0/8. */
static void
bench_packet(uint64_t *rng, unsigned int net, struct flow *f)
{
    uint64_t r = rng_next(rng);

    memset(f, 0, sizeof *f);
    f->in_port = 1 + (uint32_t) (r % 16);
    f->dl_src.ea[5] = (uint8_t) (r >> 8);
    f->dl_dst.ea[5] = (uint8_t) (r >> 16);
    f->dl_type = htons(0x0800);
    f->nw_src = (uint32_t) (r >> 24);
    f->nw_dst = htonl((uint32_t) net << 24 | ((uint32_t) rng_next(rng) >> 8));
    f->nw_proto = 6;
    f->nw_ttl = 64;
    f->tp_src = (uint16_t) (r >> 40);
    f->tp_dst = htons((uint16_t) (80 + (r >> 56) % 4));
}

/* The packet of 'bf' with fresh random values in its wildcarded bits. */
static void
bench_packet_for(uint64_t *rng, const struct bench_flow *bf,
                 const struct flow *mask, struct flow *pkt)
{
    struct flow noise;
    uint64_t *p = (uint64_t *) (void *) pkt;
    const uint64_t *n = (const uint64_t *) (const void *) &noise;
    const uint64_t *k = (const uint64_t *) (const void *) &bf->key;
    const uint64_t *m = (const uint64_t *) (const void *) mask;

    bench_packet(rng, bf->mask_idx, &noise);
    for (size_t i = 0; i < FLOW_U64S; i++) {
        p[i] = (k[i] & m[i]) | (n[i] & ~m[i]);
    }
}

/* Lookups of 'pkts' (N_PACKETS of them, cycled) for about 'seconds';
 * returns lookups per second and stores the hit fraction. */
static double
bench_run(struct classifier *cls, struct emc *emc, const struct flow *pkts,
          size_t n_pkts, double seconds, double *hit_fraction)
{
    uint64_t n = 0, hits = 0;
    double start = now_sec(), elapsed;

    do {
        for (size_t i = 0; i < n_pkts; i++) {
            struct cls_rule *cr = emc ? emc_lookup(emc, &pkts[i], NULL)
                                      : classifier_lookup(cls, &pkts[i], NULL);
            hits += cr != NULL;
        }
        n += n_pkts;
        elapsed = now_sec() - start;
    } while (elapsed < seconds);

    *hit_fraction = (double) hits / (double) n;
    return (double) n / elapsed;
}

static void
print_conditions(double seconds)
{
    char line[256], model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");

    if (f) {
        while (fgets(line, sizeof line, f)) {
            char *colon = strchr(line, ':');

            if (!strncmp(line, "model name", 10) && colon) {
                snprintf(model, sizeof model, "%s", colon + 2);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        }
        fclose(f);
    }
    printf("bench_classifier: megaflow classifier lookups/s\n");
    printf("  cpu:        %s\n", model);
    printf("  compiler:   %s, %s, asserts %s%s\n", __VERSION__,
#ifdef __OPTIMIZE__
           "optimized",
#else
           "NOT optimized",
#endif
#ifdef NDEBUG
           "off",
#else
           "on",
#endif
#if defined(__SANITIZE_ADDRESS__)
           ", ASan (figures meaningless)"
#else
           ""
#endif
        );
    printf("  seeds:      classifier secret 0x%x, generator 0x%" PRIx64 "\n",
           BENCH_SECRET, (uint64_t) BENCH_SEED);
    printf("  streams:    %u packets each, cycled, >= %.2f s per cell; "
           "emc: %u distinct packets, %d entries\n",
           N_PACKETS, seconds, N_HOT, EMC_ENTRIES);
    printf("  single-threaded, one core, no warm-up beyond insertion\n\n");
}

int
main(int argc, char *argv[])
{
    static const unsigned int mask_counts[] = { 1, 10, 100 };
    static const size_t flow_counts[] = { 1000, 10000, 100000, 1000000 };
    double seconds = argc > 1 ? atof(argv[1]) : 0.2;
    struct flow *hit_pkts = xcalloc(N_PACKETS, sizeof *hit_pkts);
    struct flow *miss_pkts = xcalloc(N_PACKETS, sizeof *miss_pkts);
    double t0 = now_sec();

    if (seconds <= 0) {
        seconds = 0.2;
    }
    print_conditions(seconds);
    printf("%6s %8s %9s | %10s %6s %5s | %10s %5s | %10s %5s\n",
           "masks", "flows", "insert/s", "hit Mlk/s", "masks", "hit%",
           "miss Mlk/s", "masks", "emc Mlk/s", "hit%");

    for (size_t mi = 0; mi < ARRAY_SIZE(mask_counts); mi++) {
        unsigned int n_masks = mask_counts[mi];
        struct flow masks[100];

        for (unsigned int i = 0; i < n_masks; i++) {
            bench_mask(i, &masks[i]);
        }
        for (size_t fi = 0; fi < ARRAY_SIZE(flow_counts); fi++) {
            size_t n_flows = flow_counts[fi];
            struct bench_flow *flows = xcalloc(n_flows, sizeof *flows);
            uint64_t rng = BENCH_SEED;
            struct classifier_stats st0, st1, st2;
            struct classifier cls;
            double start, insert_rate, hit_rate, miss_rate, emc_rate;
            double hit_frac, miss_frac, emc_frac;

            classifier_init_seeded(&cls, BENCH_SECRET);
            start = now_sec();
            for (size_t i = 0; i < n_flows; i++) {
                struct bench_flow *bf = &flows[i];

                bf->mask_idx = (unsigned int) (i % n_masks);
                bench_packet(&rng, bf->mask_idx, &bf->key);
                bf->key.nw_src = htonl((uint32_t) i);  /* Distinct keys. */
                if (classifier_insert(&cls, &bf->cr, &bf->key,
                                      &masks[bf->mask_idx])) {
                    fprintf(stderr, "unexpected duplicate flow %zu\n", i);
                    return 1;
                }
            }
            insert_rate = (double) n_flows / (now_sec() - start);

            for (size_t i = 0; i < N_PACKETS; i++) {
                const struct bench_flow *bf
                    = &flows[rng_next(&rng) % n_flows];

                bench_packet_for(&rng, bf, &masks[bf->mask_idx],
                                 &hit_pkts[i]);
                bench_packet(&rng, 255, &miss_pkts[i]);
            }

            classifier_get_stats(&cls, &st0);
            hit_rate = bench_run(&cls, NULL, hit_pkts, N_PACKETS, seconds,
                                 &hit_frac);
            classifier_get_stats(&cls, &st1);
            miss_rate = bench_run(&cls, NULL, miss_pkts, N_PACKETS, seconds,
                                  &miss_frac);
            classifier_get_stats(&cls, &st2);

            struct emc *emc = emc_create(&cls);
            emc_rate = bench_run(&cls, emc, hit_pkts, N_HOT, seconds,
                                 &emc_frac);
            emc_destroy(emc);

            printf("%6u %8zu %9.2e | %10.2f %6.1f %5.1f | %10.2f %5.1f "
                   "| %10.2f %5.1f\n",
                   n_masks, n_flows, insert_rate,
                   hit_rate / 1e6,
                   (double) (st1.n_mask_hit - st0.n_mask_hit)
                   / (double) (st1.n_hit + st1.n_missed
                               - st0.n_hit - st0.n_missed),
                   hit_frac * 100,
                   miss_rate / 1e6,
                   (double) (st2.n_mask_hit - st1.n_mask_hit)
                   / (double) (st2.n_hit + st2.n_missed
                               - st1.n_hit - st1.n_missed),
                   emc_rate / 1e6, emc_frac * 100);
            fflush(stdout);

            classifier_destroy(&cls);
            free(flows);
        }
    }
    printf("\nMlk/s = millions of lookups per second; masks = subtables "
           "searched per lookup; total %.1f s\n", now_sec() - t0);
    free(hit_pkts);
    free(miss_pkts);
    return 0;
}
