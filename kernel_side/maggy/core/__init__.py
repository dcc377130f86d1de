"""The experiment driver: trial bookkeeping, scheduling and the event stream."""
