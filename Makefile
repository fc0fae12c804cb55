# orderbus — the one entry point.
#
#   make            build everything into build/
#   make demo       install missing packages, build, run a local site on real data
#   make check      install missing packages, build, run every test
#   make bench      durable end-to-end throughput and latency figures
#   make routing-eval  the routing model cross-validated on the TipDM training
#                   file (ROUTING_EVAL_DATA): right / misrouted / manual, curve,
#                   confusion table; writes $(BUILD)/tipdm-category.obm
#   make asan       every test under AddressSanitizer + UBSan (into build-asan/)
#   make selftest-ndebug  the module self-tests built with -DNDEBUG (into
#                   build-ndebug/): they must check everything there too;
#                   make check runs it
#   make fuzz       libFuzzer targets (clang), run each for FUZZ_SECONDS
#   make install    PREFIX=/usr/local DESTDIR=   (docs/OPERATIONS.md)
#   make clean      removes the build directories (BUILD, ASAN_BUILD, NDEBUG_BUILD)
#   make deps       only install the missing Debian packages (deps-fuzz: and clang)
#
# Everything is built out of tree: objects, generated protobuf code,
# the static library and the binaries all go to BUILD. CI=true makes
# warnings errors (.ci/run); objects are rebuilt when the flags change.

BUILD      ?= build
ASAN_BUILD ?= build-asan
NDEBUG_BUILD ?= build-ndebug
PREFIX     ?= /usr/local
DESTDIR    ?=
CC         ?= cc
DOCDIR     ?= $(PREFIX)/share/doc/orderbus
UNITDIR    ?= $(PREFIX)/lib/systemd/system

PKGS     := libzmq libczmq libprotobuf-c lmdb libsodium yaml-0.1 jansson
# Debian packages for building, make check, make asan, make demo and make
# bench. make asan needs nothing more: gcc's libasan and libubsan come with
# build-essential (gcc-12 -> libgcc-12-dev -> libasan8, libubsan1).
DEB_PKGS := build-essential pkg-config libzmq3-dev libczmq-dev libprotobuf-c-dev \
            protobuf-c-compiler liblmdb-dev lmdb-utils libsodium-dev libyaml-dev \
            libjansson-dev libmicrohttpd-dev liblinear-dev procps python3 iproute2
# Only make fuzz needs these: libFuzzer is clang's.
FUZZ_DEB_PKGS := clang libclang-rt-14-dev

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla \
           -Wwrite-strings -Wno-unused-parameter
ifeq ($(CI),true)
WARN    += -Werror
endif
OPT     ?= -O2 -g
SAN     ?=
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -MMD -MP \
           -I$(BUILD)/gen -Ilib $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -llinear -lm -lpthread
LDFLAGS := $(SAN)

GEN_C   := $(BUILD)/gen/orderbus.pb-c.c
GEN_H   := $(BUILD)/gen/orderbus.pb-c.h
LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC)) $(BUILD)/gen/orderbus.pb-c.o
LIBA    := $(BUILD)/liborderbus.a

# Each daemon is an archive of its modules (every DIR/*.c but DIR/main.c,
# whatever their names) plus main.o: the self-test runner links the same
# archives, so daemon modules have self-tests in the one table.
# $(call s_daemon_objs,DIR)
s_daemon_objs = $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(1)/main.c,$(wildcard $(1)/*.c)))
BROKER_OBJ := $(call s_daemon_objs,broker)
BROKER_MAIN:= $(BUILD)/broker/main.o
BROKERA    := $(BUILD)/libbroker.a
NODE_OBJ   := $(call s_daemon_objs,nodes)
NODE_MAIN  := $(BUILD)/nodes/main.o
NODEA      := $(BUILD)/libnode.a
CLI_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(wildcard cli/*.c))
TOOL_SRC   := $(wildcard tests/tools/*.c)
TOOLS      := $(patsubst tests/tools/%.c,$(BUILD)/bin/%,$(TOOL_SRC))
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY:= $(patsubst tests/fuzz/%.c,$(BUILD)/bin/replay_%,$(FUZZ_SRC))

BINS := $(BUILD)/bin/orderbus-broker $(BUILD)/bin/orderbus-node $(BUILD)/bin/orderbus \
        $(BUILD)/bin/ob_selftest $(TOOLS) $(FUZZ_REPLAY)

.PHONY: all deps deps-fuzz demo check test bench routing-eval asan selftest-ndebug fuzz install \
        clean format lint \
        memcheck FORCE
all: $(BINS)

# --- packages ---------------------------------------------------------------
# Installs what is missing (Debian), once; prints the command when not root.
# $(call s_deps,PACKAGES)
define s_deps
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then \
	    echo "orderbus needs these Debian packages:$$missing"; \
	    echo "run as root: apt-get update && apt-get install -y$$missing"; exit 1; \
	  fi; \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi
endef

deps:
	$(call s_deps,$(DEB_PKGS))

deps-fuzz:
	$(call s_deps,$(DEB_PKGS) $(FUZZ_DEB_PKGS))

# --- compiler flags ---------------------------------------------------------
# $(BUILD)/flags holds the compile command's flags; it is rewritten only when they
# change (CI=true, OPT, SAN ...), and every object depends on it, so a build
# directory never mixes objects of two flag sets.
FLAGS := $(BUILD)/flags
$(FLAGS): FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(CFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS)' > $@

FORCE:

# --- generated code ---------------------------------------------------------
# a pattern rule: one protoc-c run makes both files, also under make -j
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $(<F)

$(BUILD)/gen/orderbus.pb-c.o: $(GEN_C) $(FLAGS)
	$(CC) -std=c11 $(OPT) $(SAN) -I$(BUILD)/gen $(shell pkg-config --cflags libprotobuf-c) -c $< -o $@

# every object waits for the generated header
$(BUILD)/%.o: %.c $(GEN_H) $(FLAGS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BROKERA): $(BROKER_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(NODEA): $(NODE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/orderbus-broker: $(BROKER_MAIN) $(BROKERA) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BROKER_MAIN) $(BROKERA) $(LIBA) $(LDLIBS)

$(BUILD)/bin/orderbus-node: $(NODE_MAIN) $(NODEA) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(NODE_MAIN) $(NODEA) $(LIBA) $(LDLIBS)

$(BUILD)/bin/orderbus: $(CLI_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LDLIBS)

$(BUILD)/bin/ob_selftest: $(BUILD)/tests/selftest.o $(NODEA) $(BROKERA) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(NODEA) $(BROKERA) $(LIBA) $(LDLIBS)

$(BUILD)/bin/%: $(BUILD)/tests/tools/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

# fuzz targets built with a replay main(): run the corpus without libFuzzer
$(BUILD)/bin/replay_%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay_main.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/fuzz/replay_main.o: tests/fuzz/replay_main.c $(FLAGS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# --- the two promised commands ---------------------------------------------
demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) deploy/demo.sh

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory selftest-ndebug
	@BUILD=$(BUILD) tests/run.sh

test: check

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/bench.sh

# The routing model on messages it never saw (tests/routing_eval.sh): grouped
# 5-fold cross-validation over the 6,342 labelled messages (reposts of one
# message kept in one fold), then rules + model on the 495 demo messages with a
# model trained without them. The label is the first-level category (一级分类).
ROUTING_EVAL_DATA ?= ../shared/data/tipdm2020c_train.csv
routing-eval: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/routing_eval.sh '$(ROUTING_EVAL_DATA)'

asan: deps
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  OB_SANITIZED=1 BUILD=$(ASAN_BUILD) tests/run.sh

# The self-tests force assert() on (lib/ob_selftest.h), so a release build
# with -DNDEBUG must pass them too: this builds only ob_selftest and what it
# links, with the flags of an -O2 release build, and runs it.
selftest-ndebug: deps
	@$(MAKE) --no-print-directory BUILD=$(NDEBUG_BUILD) OPT="-O2 -g -DNDEBUG" \
	  $(NDEBUG_BUILD)/bin/ob_selftest
	$(NDEBUG_BUILD)/bin/ob_selftest

memcheck: all
	valgrind --error-exitcode=1 --leak-check=full $(BUILD)/bin/ob_selftest

FUZZ_SECONDS ?= 60
fuzz: deps-fuzz $(GEN_H)
	@mkdir -p $(BUILD)/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I$(BUILD)/gen -Ilib \
	    $$(pkg-config --cflags $(PKGS)) $$f lib/*.c $(GEN_C) -o $(BUILD)/fuzz/$$n $(LDLIBS) || exit 1; \
	  mkdir -p $(BUILD)/fuzz/$$n.corpus; \
	  $(BUILD)/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) $(BUILD)/fuzz/$$n.corpus tests/fuzz/corpus/$$n || exit 1; \
	done

# The systemd units and the example configs name /usr/local: installed with
# $(PREFIX) in its place.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/orderbus/router-rules \
	  $(DESTDIR)$(DOCDIR)/site.example $(DESTDIR)$(UNITDIR)
	install -m 755 $(BUILD)/bin/orderbus-broker $(BUILD)/bin/orderbus-node $(BUILD)/bin/orderbus \
	  $(DESTDIR)$(PREFIX)/bin/
	cp -r router-rules/. $(DESTDIR)$(PREFIX)/share/orderbus/router-rules/
	install -m 644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	@for f in deploy/site.example/*.yaml; do \
	  echo "install $$f -> $(DESTDIR)$(DOCDIR)/site.example/ (PREFIX $(PREFIX))"; \
	  sed -e 's|/usr/local/|$(PREFIX)/|g' $$f > $(DESTDIR)$(DOCDIR)/site.example/$${f##*/} && \
	  chmod 644 $(DESTDIR)$(DOCDIR)/site.example/$${f##*/} || exit 1; \
	done
	@for f in deploy/systemd/*.service; do \
	  echo "install $$f -> $(DESTDIR)$(UNITDIR)/ (PREFIX $(PREFIX))"; \
	  sed -e 's|/usr/local/|$(PREFIX)/|g' $$f > $(DESTDIR)$(UNITDIR)/$${f##*/} && \
	  chmod 644 $(DESTDIR)$(UNITDIR)/$${f##*/} || exit 1; \
	done

format:
	clang-format -i lib/*.[ch] broker/*.[ch] nodes/*.[ch] cli/*.[ch] tests/*.c tests/*/*.c

lint: $(GEN_H)
	cppcheck --quiet --enable=warning,performance --error-exitcode=1 -I lib -I $(BUILD)/gen \
	  lib broker nodes cli

# BUILD=. or BUILD=/ would take the tree (or more) with it
clean:
	@for d in '$(BUILD)' '$(ASAN_BUILD)' '$(NDEBUG_BUILD)'; do case "$$d" in \
	  ''|.|./|..|../|/|~|~/) echo "make clean: refusing to remove '$$d'" >&2; exit 1;; esac; done
	rm -rf $(BUILD) $(ASAN_BUILD) $(NDEBUG_BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
