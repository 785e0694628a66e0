/*
 * What the two kvmprobes share (scripts/testhost/kvmprobe.c for x86,
 * scripts/testhost-arm64/kvmprobe.c for arm64; each is one file to compile
 * and includes this): PASS/FAIL lines and their count, opening /dev/kvm and
 * checking its API version, listing capabilities, the clock, and the closing
 * summary whose result is the exit status.
 */
#ifndef KVMPROBE_H
#define KVMPROBE_H

#include <fcntl.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>

static int passes, failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "PASS" : "FAIL", what);
	if (ok)
		passes++;
	else
		failures++;
}

/* A setup step failed: the probe cannot go on (exit status 2). */
static void die(const char *what)
{
	perror(what);
	exit(2);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The name of a KVM_RUN exit reason (kvm_run.exit_reason). */
static const char *exit_name(unsigned r)
{
	switch (r) {
	case KVM_EXIT_UNKNOWN: return "KVM_EXIT_UNKNOWN";
	case KVM_EXIT_EXCEPTION: return "KVM_EXIT_EXCEPTION";
	case KVM_EXIT_IO: return "KVM_EXIT_IO";
	case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
	case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
	case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_INTR: return "KVM_EXIT_INTR";
	case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
	case KVM_EXIT_SYSTEM_EVENT: return "KVM_EXIT_SYSTEM_EVENT";
	default: return "other";
	}
}

/* A capability and its name, for print_caps: CAP(KVM_CAP_IRQFD). */
struct cap {
	int cap;
	const char *name;
};
#define CAP(c) { c, #c }

/* Opens /dev/kvm (or dies) and checks its API version. */
static int kvm_open(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("open /dev/kvm");
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	printf("KVM_GET_API_VERSION = %d\n", api);
	check(api == KVM_API_VERSION, "API version is 12");
	return kvm;
}

/* One line per capability with what KVM_CHECK_EXTENSION says of it. */
static void print_caps(int kvm, const struct cap *caps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("cap %-30s %d\n", caps[i].name, ioctl(kvm, KVM_CHECK_EXTENSION, caps[i].cap));
}

/* The closing lines (time since t0, counts); returns the exit status: 0 only if every check passed. */
static int summary(double t0)
{
	printf("kvmprobe: %.2f s\n", now() - t0);
	printf("kvmprobe: %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}

#endif
