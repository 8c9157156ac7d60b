# SPDX-License-Identifier: BSD-2-Clause
#
# make deps    install every build and test dependency (Debian 12, root)
# make         build/apisonar, BPF objects embedded through skeletons
# make test    unit tests, fuzz smoke runs, end-to-end tests
# make fuzz    each fuzz target for FUZZ_SECONDS
# make fuzz-long  each fuzz target for FUZZ_LONG_RUNS executions (not CI)
# make install binary (and unit, config) under $(DESTDIR)$(PREFIX)
#
# New modules need no edit here: every src/<stage>/*.c (and
# src/<stage>/<sub>/*.c) goes into the binary, every
# tests/unit/<stage>/test_*.c becomes a cmocka test, every
# tests/fuzz/<stage>/fuzz_*.c a libFuzzer target, every bpf/*.bpf.c a
# skeleton. docs/architecture.md says which stage a file belongs to.
# Objects keep their folders; tests and fuzzers are named by basename, and
# basenames stay unique across src/ (the test archives index objects by
# basename).

OUTPUT ?= build
CLANG ?= clang
CC ?= gcc
BPFTOOL ?= bpftool
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_RUNS ?= 20000
FUZZ_LONG_RUNS ?= 10000000

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/;s/ppc64le/powerpc/;s/s390x/s390/')

CFLAGS ?= -g -O2
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wformat=2 -D_GNU_SOURCE \
	  -fno-strict-aliasing -fstack-protector-strong -D_FORTIFY_SOURCE=2
INCLUDES := -Iinclude -I$(OUTPUT)
LIBS := -lbpf -lelf -lz -lyaml -lcjson -lcurl -levent_openssl -levent -lssl -lcrypto -lpthread
# HPACK for HTTP/2 (src/sensor/proto/http2.c): libnghttp2's decoder.
INCLUDES += $(shell pkg-config --cflags libnghttp2)
LIBS += $(shell pkg-config --libs libnghttp2)
# libnats (Debian libnats-dev) for the NATS JetStream transport
LIBS += $(shell pkg-config --libs libnats 2>/dev/null || echo -lnats)
INCLUDES += $(shell pkg-config --cflags libnats 2>/dev/null)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))

SRCS := $(wildcard src/*/*.c src/*/*/*.c)
OBJS := $(patsubst src/%.c,$(OUTPUT)/obj/%.o,$(SRCS))
LIB_SRCS := $(filter-out src/cli/main.c,$(SRCS))

# Tests and fuzzers get their own objects, built with sanitizers.
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer
TOBJS := $(patsubst src/%.c,$(OUTPUT)/tobj/%.o,$(LIB_SRCS))
FOBJS := $(patsubst src/%.c,$(OUTPUT)/fobj/%.o,$(LIB_SRCS))

UNIT_SRCS := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS := $(patsubst %.c,$(OUTPUT)/tests/%,$(notdir $(UNIT_SRCS)))
FUZZ_SRCS := $(wildcard tests/fuzz/*/fuzz_*.c)
FUZZ_BINS := $(patsubst %.c,$(OUTPUT)/fuzz/%,$(notdir $(FUZZ_SRCS)))

# Test sources live in folders that mirror src/; their binaries are flat.
vpath test_%.c $(sort $(dir $(UNIT_SRCS)))
vpath fuzz_%.c $(sort $(dir $(FUZZ_SRCS)))

# Clang's own system include dirs, for BPF code that includes libc headers'
# siblings (as libbpf-bootstrap does).
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps test unit e2e fuzz fuzz-smoke fuzz-long fuzz-build install clean format lint bench

all: $(OUTPUT)/apisonar $(OUTPUT)/pktcap_bench

$(OUTPUT) $(OUTPUT)/obj $(OUTPUT)/tobj $(OUTPUT)/fobj $(OUTPUT)/tests $(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

# vmlinux.h is generated from the build host's BTF, not committed: CO-RE
# relocations make the result run on other kernels, and a generated header
# never goes stale. A build host needs /sys/kernel/btf/vmlinux (any kernel
# since 5.4 with CONFIG_DEBUG_INFO_BTF=y; Debian's has it).
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)test -r /sys/kernel/btf/vmlinux || { echo "error: /sys/kernel/btf/vmlinux is missing: build on a kernel with CONFIG_DEBUG_INFO_BTF=y" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) include/apisonar/sensor/events.h include/apisonar/sensor/budget.h $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-Iinclude -I$(OUTPUT) $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@

$(OUTPUT)/pktcap.bpf.o: include/apisonar/sensor/pktcap.h

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

HDRS := $(wildcard include/apisonar/*/*.h include/apisonar/*/*/*.h)

$(OUTPUT)/obj/%.o: src/%.c $(HDRS) $(SKELS) | $(OUTPUT)/obj
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

$(OUTPUT)/apisonar: $(OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

# The packet-level capture prototype's loader (bpf/pktcap.bpf.c), for
# bench/capture_bench; built with everything so that it cannot rot, but
# not part of the product (docs/sensor-cost.md, "The packet-level
# alternative").
PKTCAP_BENCH_OBJS := $(OUTPUT)/obj/sensor/pktreasm.o $(OUTPUT)/obj/sensor/proto/http1.o \
	$(OUTPUT)/obj/exchange/exchange.o

$(OUTPUT)/pktcap_bench: bench/pktcap_bench.c $(PKTCAP_BENCH_OBJS) $(HDRS) $(SKELS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $< $(PKTCAP_BENCH_OBJS) -lbpf -lelf -lz -o $@

# ---- tests -----------------------------------------------------------------

$(OUTPUT)/tobj/%.o: src/%.c $(HDRS) $(SKELS) | $(OUTPUT)/tobj
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -g -O1 $(filter-out -D_FORTIFY_SOURCE=2,$(CFLAGS)) -DUNITTEST $(SAN) $(INCLUDES) -c $< -o $@

# An archive, so a test that #includes the .c under test links without
# clashing with that module's own object.
$(OUTPUT)/libapisonar-test.a: $(TOBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/tests/%: %.c $(OUTPUT)/libapisonar-test.a $(HDRS) | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) -g -O1 $(filter-out -D_FORTIFY_SOURCE=2,$(CFLAGS)) -DUNITTEST $(SAN) $(INCLUDES) -Isrc -Itests/unit \
		$< $(OUTPUT)/libapisonar-test.a $(LDFLAGS_$*) -lcmocka $(LIBS) -o $@

unit: $(UNIT_BINS)
	$(Q)tests/run-unit tests/check-layout $(UNIT_BINS)

# ---- fuzzing ---------------------------------------------------------------

$(OUTPUT)/fobj/%.o: src/%.c $(HDRS) $(SKELS) | $(OUTPUT)/fobj
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -DFUZZING -fsanitize=fuzzer-no-link,address,undefined \
		$(INCLUDES) -c $< -o $@

$(OUTPUT)/libapisonar-fuzz.a: $(FOBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/fuzz/%: %.c $(OUTPUT)/libapisonar-fuzz.a $(HDRS) | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -DFUZZING -fsanitize=fuzzer,address,undefined \
		$(INCLUDES) -Isrc $< $(OUTPUT)/libapisonar-fuzz.a $(LIBS) -o $@

fuzz-build: $(FUZZ_BINS)

comma := ,

# Each target runs from its seed corpus (tests/fuzz/corpus/<name>/) for
# FUZZ_SECONDS; new inputs go to build/fuzz/corpus-<name>/.
fuzz: $(FUZZ_BINS)
	$(Q)for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p $(OUTPUT)/fuzz/corpus-$$n; \
		d=$$(ls tests/fuzz/*/$$n.dict 2>/dev/null | sed 's/^/-dict=/'); \
		$$f $$d -max_total_time=$(FUZZ_SECONDS) $(OUTPUT)/fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; done

# The smoke run in `make test` is counted in executions, never in time, so
# that a fault `make fuzz` finds in seconds cannot pass CI on a slow or busy
# machine (tests/run-fuzz-smoke fails a target that stops early).
# fuzz_http1 runs 1 000 000: measured on this machine, the original harness
# on the original parser found the faults of issue 13 from the seed corpus
# (without the repro inputs) after 25 227, 71 494, 102 836, 415 304,
# 674 384, 1 050 728 and 1 074 114 executions (7 seeds, median 415 000);
# with its dictionary, which the smoke run uses, after 55 908 to 204 825 (4
# of 5 seeds; the fifth found nothing in 894 860). 1 000 000 is 2.4 times
# the median and 4.9 times the worst dictionary run that found them, but
# not above the tail (two runs without the dictionary needed just over it):
# it is about the most the budget allows, fuzz_http1 taking 192 s of the
# whole smoke's 4 minutes (2 shared cores, load 5). The other targets keep
# FUZZ_SMOKE_RUNS (1-11 s each): no fault was measured for them;
# docs/fuzzing.md has the numbers.
FUZZ_SMOKE_RUNS_fuzz_http1 ?= 1000000
# fuzz_http2 found an empty :method after 122 075 executions from its
# seeds (fixed, issue 18); 300 000 (about 10 s here) is 2.5 times that.
FUZZ_SMOKE_RUNS_fuzz_http2 ?= 300000
fuzz_smoke_runs = $(or $(FUZZ_SMOKE_RUNS_$(1)),$(FUZZ_SMOKE_RUNS))

fuzz-smoke: $(FUZZ_BINS)
	$(Q)tests/run-fuzz-smoke $(foreach f,$(FUZZ_BINS),$(f):$(call fuzz_smoke_runs,$(notdir $(f))))

# Not CI: every target (or FUZZ_LONG_TARGETS=fuzz_x,...) for FUZZ_LONG_RUNS
# executions, one at a time, from its seed corpus and what `make fuzz` and
# earlier long runs kept in build/fuzz/corpus-<name>/. Each target logs to
# build/fuzz/long-<name>.log; a crash goes to build/fuzz/ and the run goes
# on with the next target. Hours on a shared machine: run it niced in the
# background. One job per target: on two shared cores -jobs gains nothing.
FUZZ_LONG_TARGETS ?= $(notdir $(FUZZ_BINS))

fuzz-long: $(FUZZ_BINS)
	$(Q)fail=0; for n in $(subst $(comma), ,$(FUZZ_LONG_TARGETS)); do f=$(OUTPUT)/fuzz/$$n; \
		mkdir -p $(OUTPUT)/fuzz/corpus-$$n; \
		d=$$(ls tests/fuzz/*/$$n.dict 2>/dev/null | sed 's/^/-dict=/'); \
		echo "fuzz-long $$n: $(FUZZ_LONG_RUNS) runs, log $(OUTPUT)/fuzz/long-$$n.log"; \
		if $$f $$d -runs=$(FUZZ_LONG_RUNS) -print_final_stats=1 -artifact_prefix=$(OUTPUT)/fuzz/ \
			$(OUTPUT)/fuzz/corpus-$$n tests/fuzz/corpus/$$n >$(OUTPUT)/fuzz/long-$$n.log 2>&1; \
		then echo "PASS fuzz-long $$n ($$(sed -n 's/^stat::number_of_executed_units: //p' $(OUTPUT)/fuzz/long-$$n.log) runs)"; \
		else echo "FAIL fuzz-long $$n (see the log)"; fail=$$((fail + 1)); fi; done; \
	[ $$fail -eq 0 ]

# ---- end to end ------------------------------------------------------------

e2e: $(OUTPUT)/apisonar
	$(Q)tests/run-e2e

test: $(OUTPUT)/apisonar $(UNIT_BINS) $(FUZZ_BINS)
	$(Q)tests/run-all $(OUTPUT)

# ---- set-up and install ----------------------------------------------------

DEB_PKGS := clang llvm libclang-rt-14-dev make gcc pkg-config bpftool libbpf-dev libelf-dev \
	zlib1g-dev libyaml-dev libcjson-dev libcurl4-openssl-dev libssl-dev libevent-dev libcmocka-dev \
	nginx-light curl wrk openssl python3 iproute2 tcpdump procps psmisc netcat-openbsd \
	util-linux time binutils systemd nodejs python3-yaml
DEB_PKGS += libnghttp2-dev nghttp2-client python3-grpcio python3-grpc-tools
# Go's crypto/tls tests: the Go programs they build, Debian's stripped go command
DEB_PKGS += golang-go
DEB_PKGS += libnats-dev nats-server
# h2c by upgrade (tests/e2e/h2c_upgrade_server.py): nginx and nghttpd do not accept it
DEB_PKGS += python3-h2

deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make deps installs Debian packages: run it as root" >&2; exit 1; fi
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PKGS) >/dev/null
	@# Validators the tests drive (HAR, OpenAPI, JSON Schema, Kubernetes
	@# manifests), at the versions of tests/package-lock.json. npm comes
	@# with nodejs (NodeSource's package, as on these machines) or Debian's npm.
	@command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
	cd tests && npm ci --no-audit --no-fund --loglevel=error >/dev/null

# The configuration and environment files are installed only when absent:
# a reinstall never overwrites what the admin changed.
install: $(OUTPUT)/apisonar
	install -D -m 0755 $(OUTPUT)/apisonar $(DESTDIR)$(PREFIX)/bin/apisonar
	install -D -m 0644 deploy/systemd/apisonar.service $(DESTDIR)/etc/systemd/system/apisonar.service
	sed -i 's|/usr/local/bin/apisonar|$(PREFIX)/bin/apisonar|' $(DESTDIR)/etc/systemd/system/apisonar.service
	install -D -m 0644 deploy/apisonar.conf.example $(DESTDIR)/etc/apisonar/apisonar.conf.example
	[ -e $(DESTDIR)/etc/apisonar/apisonar.conf ] || \
		install -m 0640 deploy/apisonar.conf.example $(DESTDIR)/etc/apisonar/apisonar.conf
	[ -e $(DESTDIR)/etc/apisonar/apisonar.env ] || \
		install -m 0640 deploy/systemd/apisonar.env $(DESTDIR)/etc/apisonar/apisonar.env

format:
	clang-format -i $(SRCS) $(HDRS) $(BPF_SRCS) $(wildcard bpf/*.h) $(UNIT_SRCS) $(FUZZ_SRCS)

lint: $(SKELS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem --suppress=unknownMacro -Iinclude -I$(OUTPUT) src

bench: $(OUTPUT)/apisonar
	bench/run

clean:
	rm -rf $(OUTPUT)
