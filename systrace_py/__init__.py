"""systrace-py: OpenBSD's systrace for Linux, built on ptrace and a seccomp-bpf prefilter."""

__version__ = "0.1.0"
