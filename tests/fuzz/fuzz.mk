# fuzz.mk - builds the libFuzzer targets of tests/fuzz/ with clang and runs
# them; `make fuzz` calls it (docs/fuzzing.md). GNU make.
#
#   make -f fuzz.mk srcdir=ABS builddir=ABS FUZZ_SRCS=... DEPS_CFLAGS=... DEPS_LIBS=... [run]
#
# The daemon's sources are compiled once more, instrumented (ASan, UBSan,
# libFuzzer's coverage), into $(FUZZ_DIR)/obj; each target links them.
# `run` runs every target in FUZZ_TARGETS for FUZZ_SECONDS (one after the
# other), keeping what each finds in $(FUZZ_DIR)/work/<target> and any
# crash in $(FUZZ_DIR)/artifacts/; `smoke` does the same for
# FUZZ_SMOKE_SECONDS from the committed corpus (CI); `merge` refreshes
# that corpus, tests/fuzz/corpus/<target>.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_TARGETS ?= stats kvl module_split csv scenario control runner run http1 har
FUZZ_DIR ?= $(builddir)/tests/fuzz
FUZZ_SAN ?= -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_RUN_FLAGS ?= -timeout=10 -rss_limit_mb=2048 -max_len=8192

CFLAGS_FUZZ = -std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter \
	$(FUZZ_SAN) -I$(srcdir)/daemon -I$(srcdir)/sdk/include -I$(builddir) \
	-DFUZZ_GOOD_SO='"$(builddir)/tests/plugins/good.so"' $(DEPS_CFLAGS)

# The sources of the daemon's libraries, as Makefile.am lists them.
LIB_SRCS = $(addprefix $(srcdir)/,$(filter %.c,$(FUZZ_SRCS)))
LIB_OBJS = $(patsubst $(srcdir)/daemon/%.c,$(FUZZ_DIR)/obj/%.o,$(LIB_SRCS))
BINS = $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))

all: $(BINS)

$(FUZZ_DIR)/obj/%.o: $(srcdir)/daemon/%.c
	@mkdir -p $(dir $@)
	@echo "  CC (fuzz) $*.o"
	@$(FUZZ_CC) $(CFLAGS_FUZZ) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: $(srcdir)/tests/fuzz/fuzz_%.c $(srcdir)/tests/fuzz/fuzz.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  CCLD (fuzz) fuzz_$*"
	@$(FUZZ_CC) $(CFLAGS_FUZZ) -fsanitize=fuzzer -MMD -MP -o $@ $< $(LIB_OBJS) $(DEPS_LIBS) -lm

# Seeds live in the source tree: tests/fuzz/seeds/<target>, plus the
# scenario files the tests and examples already have.
SEEDS_scenario = $(srcdir)/tests/scenarios $(srcdir)/conf
DICT_scenario = -dict=$(srcdir)/tests/fuzz/scenario.dict
DICT_json = -dict=$(srcdir)/tests/fuzz/json.dict
DICT_http1 = -dict=$(srcdir)/tests/fuzz/http.dict
DICT_har = -dict=$(srcdir)/tests/fuzz/har.dict

# fuzz_loop SECONDS, WHERE: runs every target in FUZZ_TARGETS for SECONDS,
# new inputs going to WHERE/<target> (the first corpus folder libFuzzer is
# given is the one it writes); it also reads the committed corpus
# ($(srcdir)/tests/fuzz/corpus/<target>), the seeds and the extra folders.
# The first crash, leak, hang or UBSan report stops it with the log's tail.
define fuzz_loop
	@mkdir -p $(FUZZ_DIR)/artifacts
	@set -e; for t in $(FUZZ_TARGETS); do \
		corpus=$(2)/$$t; mkdir -p $$corpus; \
		seeds=$(srcdir)/tests/fuzz/seeds/$$t; test -d $$seeds || seeds=; \
		kept=$(srcdir)/tests/fuzz/corpus/$$t; test -d $$kept || kept=; \
		echo "fuzz: $$t for $(1) s"; \
		case $$t in \
		scenario) extra="$(SEEDS_scenario)"; dict="$(DICT_scenario)";; \
		csv|module_split) extra=; dict=;; \
		http1) extra=; dict="$(DICT_http1)";; \
		har) extra=; dict="$(DICT_har)";; \
		*) extra=; dict="$(DICT_json)";; \
		esac; \
		LSAN_OPTIONS=suppressions=$(srcdir)/tests/fuzz/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
		$(FUZZ_DIR)/fuzz_$$t $(FUZZ_RUN_FLAGS) $$dict -max_total_time=$(1) \
			-print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- \
			$$corpus $$kept $$seeds $$extra 2>$(FUZZ_DIR)/$$t.log || \
			{ tail -n 60 $(FUZZ_DIR)/$$t.log; echo "fuzz: $$t FAILED (log: $(FUZZ_DIR)/$$t.log)"; exit 1; }; \
		grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+[[:space:]]+DONE)' $(FUZZ_DIR)/$$t.log | \
			sed "s/^/fuzz: $$t: /"; \
	done
endef

run: all
	$(call fuzz_loop,$(FUZZ_SECONDS),$(FUZZ_DIR)/work)

# The CI smoke (`make fuzz-smoke`, run by ./quickstart.sh test): a short
# run of every target from the committed corpus, in a scratch folder.
smoke: all
	@rm -rf $(FUZZ_DIR)/smoke
	$(call fuzz_loop,$(FUZZ_SMOKE_SECONDS),$(FUZZ_DIR)/smoke)

# Refreshes the committed corpus: the smallest set of inputs that covers
# what the committed corpus, the seeds and the last runs' corpora cover
# (libFuzzer's -merge=1). Run it after `make fuzz`, then commit
# tests/fuzz/corpus/.
merge: all
	@set -e; for t in $(FUZZ_TARGETS); do \
		kept=$(srcdir)/tests/fuzz/corpus/$$t; new=$(FUZZ_DIR)/merge/$$t; \
		rm -rf $$new; mkdir -p $$new $$kept $(FUZZ_DIR)/work/$$t $(FUZZ_DIR)/smoke/$$t; \
		seeds=$(srcdir)/tests/fuzz/seeds/$$t; test -d $$seeds || seeds=; \
		LSAN_OPTIONS=suppressions=$(srcdir)/tests/fuzz/lsan.supp \
		$(FUZZ_DIR)/fuzz_$$t $(FUZZ_RUN_FLAGS) -merge=1 $$new $$kept $$seeds \
			$(FUZZ_DIR)/work/$$t $(FUZZ_DIR)/smoke/$$t 2>$(FUZZ_DIR)/$$t-merge.log || \
			{ tail -n 30 $(FUZZ_DIR)/$$t-merge.log; echo "fuzz: merging $$t FAILED"; exit 1; }; \
		rm -rf $$kept; mkdir -p $$kept; cp $$new/* $$kept/ 2>/dev/null || true; \
		echo "fuzz: $$t: $$(ls $$kept | wc -l) inputs, $$(du -sk $$kept | cut -f1) KiB"; \
	done

clean:
	rm -rf $(FUZZ_DIR)/obj $(BINS)

.PHONY: all run smoke merge clean
# The objects are shared by every target: keep them between builds.
.SECONDARY: $(LIB_OBJS)
-include $(LIB_OBJS:.o=.d) $(BINS:=.d)
