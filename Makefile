# orderbus — the one entry point.
#
#   make            build everything into build/
#   make demo       install missing packages, build, run a local site on real data
#   make check      install missing packages, build, run every test
#   make bench      durable end-to-end throughput and latency figures
#   make asan       every test under AddressSanitizer + UBSan (build-asan/)
#   make fuzz       libFuzzer targets (clang), run each for FUZZ_SECONDS
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean
#
# Everything is built out of tree: objects, generated protobuf code,
# the static library and the binaries all go to $(BUILD).

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc

PKGS     := libzmq libczmq libprotobuf-c lmdb libsodium yaml-0.1 jansson
DEB_PKGS := build-essential pkg-config libzmq3-dev libczmq-dev libprotobuf-c-dev \
            protobuf-c-compiler liblmdb-dev lmdb-utils libsodium-dev libyaml-dev \
            libjansson-dev libmicrohttpd-dev clang libclang-rt-14-dev procps \
            python3 iproute2

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla \
           -Wwrite-strings -Wno-unused-parameter
ifeq ($(CI),true)
WARN    += -Werror
endif
OPT     ?= -O2 -g
SAN     ?=
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -MMD -MP \
           -I$(BUILD)/gen -Ilib $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
LDFLAGS := $(SAN)

GEN_C   := $(BUILD)/gen/orderbus.pb-c.c
GEN_H   := $(BUILD)/gen/orderbus.pb-c.h
LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC)) $(BUILD)/gen/orderbus.pb-c.o
LIBA    := $(BUILD)/liborderbus.a

BROKER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard broker/*.c))
NODE_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(wildcard nodes/*.c))
CLI_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(wildcard cli/*.c))
TOOL_SRC   := $(wildcard tests/tools/*.c)
TOOLS      := $(patsubst tests/tools/%.c,$(BUILD)/bin/%,$(TOOL_SRC))
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY:= $(patsubst tests/fuzz/%.c,$(BUILD)/bin/replay_%,$(FUZZ_SRC))

BINS := $(BUILD)/bin/orderbus-broker $(BUILD)/bin/orderbus-node $(BUILD)/bin/orderbus \
        $(BUILD)/bin/ob_selftest $(TOOLS) $(FUZZ_REPLAY)

.PHONY: all deps demo check test bench asan fuzz install clean format lint memcheck
all: $(BINS)

# --- packages ---------------------------------------------------------------
# Installs what is missing (Debian), once; prints the command when not root.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
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

# --- generated code ---------------------------------------------------------
$(GEN_C) $(GEN_H): proto/orderbus.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen orderbus.proto

$(BUILD)/gen/orderbus.pb-c.o: $(GEN_C)
	$(CC) -std=c11 $(OPT) $(SAN) -I$(BUILD)/gen $(shell pkg-config --cflags libprotobuf-c) -c $< -o $@

# every object waits for the generated header
$(BUILD)/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/orderbus-broker: $(BROKER_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BROKER_OBJ) $(LIBA) $(LDLIBS)

$(BUILD)/bin/orderbus-node: $(NODE_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(NODE_OBJ) $(LIBA) $(LDLIBS)

$(BUILD)/bin/orderbus: $(CLI_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LDLIBS)

$(BUILD)/bin/ob_selftest: $(BUILD)/tests/selftest.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

$(BUILD)/bin/%: $(BUILD)/tests/tools/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

# fuzz targets built with a replay main(): run the corpus without libFuzzer
$(BUILD)/bin/replay_%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay_main.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/fuzz/replay_main.o: tests/fuzz/replay_main.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# --- the two promised commands ---------------------------------------------
demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) deploy/demo.sh

check: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/run.sh

test: check

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/bench.sh

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  OB_SANITIZED=1 BUILD=build-asan tests/run.sh

memcheck: all
	valgrind --error-exitcode=1 --leak-check=full $(BUILD)/bin/ob_selftest

FUZZ_SECONDS ?= 60
fuzz: deps $(GEN_H)
	@mkdir -p $(BUILD)/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I$(BUILD)/gen -Ilib \
	    $$(pkg-config --cflags $(PKGS)) $$f lib/*.c $(GEN_C) -o $(BUILD)/fuzz/$$n $(LDLIBS) || exit 1; \
	  mkdir -p $(BUILD)/fuzz/$$n.corpus; \
	  $(BUILD)/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) $(BUILD)/fuzz/$$n.corpus tests/fuzz/corpus/$$n || exit 1; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/orderbus/router-rules
	install -m 755 $(BUILD)/bin/orderbus-broker $(BUILD)/bin/orderbus-node $(BUILD)/bin/orderbus \
	  $(DESTDIR)$(PREFIX)/bin/
	cp -r router-rules/. $(DESTDIR)$(PREFIX)/share/orderbus/router-rules/
	if [ -d deploy/systemd ]; then install -d $(DESTDIR)$(PREFIX)/lib/systemd/system && \
	  install -m 644 deploy/systemd/*.service $(DESTDIR)$(PREFIX)/lib/systemd/system/; fi

format:
	clang-format -i lib/*.[ch] broker/*.[ch] nodes/*.[ch] cli/*.[ch] tests/*.c tests/*/*.c

lint: $(GEN_H)
	cppcheck --quiet --enable=warning,performance --error-exitcode=1 -I lib -I $(BUILD)/gen \
	  lib broker nodes cli

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
