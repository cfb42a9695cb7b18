"""The notifier's domain: pure decisions, no I/O (rendering lives in `rendering`)."""
